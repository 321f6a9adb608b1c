-- installer-ledger schema, version 4: (being written by the rotation work)
SELECT 1;
