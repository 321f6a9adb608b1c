-- installer-ledger schema, version 3: (being written by the reconcile/report work)
SELECT 1;
