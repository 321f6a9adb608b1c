/// Where a workflow at ESET works (create, sync, rotate): the ledger, the client that calls
/// ESET as one account, that account (nil: the ledger's only one) and the clock.
public struct ESETWork: Sendable {
    public let ledger: Ledger
    public let client: ESETConnectClient
    public let account: Account?
    public let now: @Sendable () -> Timestamp

    public init(ledger: Ledger, client: ESETConnectClient, account: Account? = nil,
                now: @escaping @Sendable () -> Timestamp = { .now() }) {
        self.ledger = ledger
        self.client = client
        self.account = account
        self.now = now
    }
}

/// A workflow holding an ``ESETWork``, read through its parts.
protocol ESETWorkflow {
    var work: ESETWork { get }
}

extension ESETWorkflow {
    var ledger: Ledger { work.ledger }
    var client: ESETConnectClient { work.client }
    var account: Account? { work.account }
    var now: @Sendable () -> Timestamp { work.now }
}
