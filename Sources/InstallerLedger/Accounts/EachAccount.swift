/// Runs one job per account (`sync --all`, `reconcile --all`), a few at once: each account
/// has its own client, so its own token and rate limit, and one account failing does not
/// stop the others.
public enum EachAccount {
    /// How many accounts are worked on at once: ESET's limits are per API user, so this only
    /// bounds the ledger's own load.
    public static let defaultConcurrency = 4

    /// Calls `body` for every account, at most `concurrency` at a time.
    /// - Returns: each account's result, in the order of `accounts`.
    public static func run<T: Sendable>(
        _ accounts: [Account], concurrency: Int = defaultConcurrency,
        _ body: @escaping @Sendable (Account) async throws -> T
    ) async -> [(account: Account, result: Result<T, any Error>)] {
        var results = [Result<T, any Error>?](repeating: nil, count: accounts.count)
        await withTaskGroup(of: (Int, Result<T, any Error>).self) { group in
            var next = 0
            func start() {
                guard next < accounts.count else { return }
                let index = next
                next += 1
                group.addTask {
                    do { return (index, .success(try await body(accounts[index]))) } catch { return (index, .failure(error)) }
                }
            }
            for _ in 0..<max(1, concurrency) { start() }
            while let (index, result) = await group.next() {
                results[index] = result
                start()
            }
        }
        return zip(accounts, results).map { ($0, $1!) }
    }
}
