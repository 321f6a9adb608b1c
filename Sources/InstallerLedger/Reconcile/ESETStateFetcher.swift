/// Asks ESET Connect about the installers the ledger holds as usable, with as few requests
/// as it can: a listing answers 1000 installers a request, a `GET` one.
///
/// It lists `usable=true` pages while the pages left are fewer than the installers still
/// unanswered, and asks the rest one by one. Installers missing from a complete usable
/// listing are, for those the clock has not expired, told apart (unusable or deleted) the
/// same way with a `usable=false` listing or single `GET`s. Expired ones need no more:
/// the clock already decides them, and ESET's only news that matters is "still usable".
/// With nothing to check it still reads one page, so a run always proves it reached ESET.
public struct ESETStateFetcher: Sendable {
    let client: ESETConnectClient
    let pageSize: Int
    /// `GET`s in flight at once; the client's rate limiter still paces them.
    let concurrency: Int

    public init(client: ESETConnectClient, pageSize: Int = 1000, concurrency: Int = 4) {
        self.client = client
        self.pageSize = max(1, pageSize)
        self.concurrency = max(1, concurrency)
    }

    /// Observes every candidate. - Throws: `ESETConnectError` when ESET cannot answer.
    public func observe(_ candidates: [ReconcileCandidate], now: Timestamp) async throws -> ESETState {
        var state = ESETState()
        guard !candidates.isEmpty else {
            // Nothing to check, but one page still proves the credentials work and tells
            // whether ESET has usable installers the ledger does not know: a run that
            // counts as a refresh has always talked to ESET.
            state.unknownToLedger = try await list(usable: true, wanted: [], into: &state).unknown
            return state
        }
        let all = Set(candidates.map(\.uuid))
        let expired = Set(candidates.filter { c in c.expireTime.map { $0 <= now } ?? false }.map(\.uuid))
        if !Self.listingPays(unanswered: all.count, pagesLeft: nil) {
            try await getEach(all, into: &state)
            return state
        }
        let usable = try await list(usable: true, wanted: all, into: &state)
        guard usable.complete else {
            try await getEach(all.subtracting(state.observations.keys), into: &state)
            return state
        }
        state.unknownToLedger = usable.unknown
        var live = Set<String>()
        for uuid in all where state.observations[uuid] == nil {
            if expired.contains(uuid) { state.observations[uuid] = .notUsable } else { live.insert(uuid) }
        }
        guard !live.isEmpty else { return state }
        if !Self.listingPays(unanswered: live.count, pagesLeft: nil) {
            try await getEach(live, into: &state)
            return state
        }
        let unusable = try await list(usable: false, wanted: live, into: &state)
        let left = live.subtracting(state.observations.keys)
        if unusable.complete {
            for uuid in left { state.observations[uuid] = .gone }
        } else {
            try await getEach(left, into: &state)
        }
        return state
    }

    /// Whether listing beats single `GET`s: a listing costs at least one request, more when
    /// ESET's `totalSize` says so; each unanswered installer costs one `GET`.
    static func listingPays(unanswered: Int, pagesLeft: Int?) -> Bool {
        unanswered > (pagesLeft ?? 1)
    }

    private struct StopListing: Error {}

    /// Lists one `usable` filter page by page, noting the wanted installers, and stops as
    /// soon as every wanted one is answered or the pages left cost more than `GET`s would.
    private func list(usable: Bool, wanted: Set<String>,
                      into state: inout ESETState) async throws -> (complete: Bool, unknown: Int) {
        var found = [String: ESETObservation]()
        var requests = 0
        var unknown = 0
        var totalSize = 0
        var complete = true
        let pageSize = self.pageSize
        do {
            try await client.listInstallers(usable: usable, pageSize: pageSize) { page in
                requests += 1
                totalSize = Int(page.totalSize)
                for received in page.installers {
                    let uuid = received.installer.uuid
                    guard wanted.contains(uuid) else { unknown += 1; continue }
                    found[uuid] = received.installer.usable ? .usable : .unusable(received)
                }
                guard !page.nextPageToken.isEmpty else { return }
                let unanswered = wanted.count - found.count
                if unanswered == 0 { throw StopListing() }
                if page.totalSize > 0 {
                    let pages = Int((page.totalSize + Int64(pageSize) - 1) / Int64(pageSize))
                    if !Self.listingPays(unanswered: unanswered, pagesLeft: max(0, pages - requests)) { throw StopListing() }
                }
            }
        } catch is StopListing {
            complete = found.count == wanted.count
            // Pages not read: ESET's total tells how many listed installers were not wanted.
            unknown = max(unknown, totalSize - found.count)
        }
        state.requests += requests
        state.observations.merge(found) { _, new in new }
        return (complete, unknown)
    }

    /// One `GET` per installer, a few at a time; 404 means gone.
    private func getEach(_ uuids: Set<String>, into state: inout ESETState) async throws {
        guard !uuids.isEmpty else { return }
        let client = self.client
        var pending = uuids.sorted()[...]
        try await withThrowingTaskGroup(of: (String, ESETObservation).self) { group in
            func startNext() {
                guard let uuid = pending.popFirst() else { return }
                group.addTask {
                    do {
                        let received = try await client.getInstaller(uuid: uuid)
                        return (uuid, received.installer.usable ? .usable : .unusable(received))
                    } catch ESETConnectError.http(status: 404, _, _) {
                        return (uuid, .gone)
                    }
                }
            }
            for _ in 0..<concurrency { startNext() }
            while let (uuid, observation) = try await group.next() {
                state.observations[uuid] = observation
                state.requests += 1
                startNext()
            }
        }
    }
}
