import Foundation

/// Whom a token was issued to: the company it shows and the username the request log names.
struct TokenOwner: Sendable, Equatable {
    /// Index into the ``CompanyDirectory``.
    var company: Int
    var username: String
}

/// Access and refresh tokens issued by the token endpoint, with their expiry by the sandbox
/// clock and their owner: a refresh keeps the owner, so a token never changes company.
struct TokenRegistry: Sendable {
    private struct Grant: Sendable {
        var expiryMicros: Int64
        var owner: TokenOwner
    }

    private var accessTokens: [String: Grant] = [:]
    private var refreshTokens: [String: Grant] = [:]
    private var random = SystemRandomNumberGenerator()

    /// Issues a new access and refresh token pair for `owner`.
    mutating func issue(to owner: TokenOwner, nowMicros: Int64, accessLifetime: TimeInterval,
                        refreshLifetime: TimeInterval) -> (access: String, refresh: String)
    {
        purge(nowMicros: nowMicros)
        let access = "sbx-at-" + random.hexString(count: 48)
        let refresh = "sbx-rt-" + random.hexString(count: 48)
        accessTokens[access] = Grant(expiryMicros: nowMicros + Int64(accessLifetime * 1_000_000), owner: owner)
        refreshTokens[refresh] = Grant(expiryMicros: nowMicros + Int64(refreshLifetime * 1_000_000), owner: owner)
        return (access, refresh)
    }

    /// The owner of a valid access token; `nil` when it is unknown or expired.
    func owner(access token: String, nowMicros: Int64) -> TokenOwner? {
        accessTokens[token].flatMap { $0.expiryMicros > nowMicros ? $0.owner : nil }
    }

    /// The owner of a valid refresh token, without consuming it.
    func owner(refresh token: String, nowMicros: Int64) -> TokenOwner? {
        refreshTokens[token].flatMap { $0.expiryMicros > nowMicros ? $0.owner : nil }
    }

    /// Consumes a refresh token: its owner when it was valid (it is invalid from now on).
    mutating func redeem(refresh token: String, nowMicros: Int64) -> TokenOwner? {
        guard let grant = refreshTokens.removeValue(forKey: token) else { return nil }
        return grant.expiryMicros > nowMicros ? grant.owner : nil
    }

    mutating func revokeAll() {
        accessTokens.removeAll()
        refreshTokens.removeAll()
    }

    private mutating func purge(nowMicros: Int64) {
        guard accessTokens.count + refreshTokens.count > 10_000 else { return }
        accessTokens = accessTokens.filter { $0.value.expiryMicros > nowMicros }
        refreshTokens = refreshTokens.filter { $0.value.expiryMicros > nowMicros }
    }
}

/// Answers kept for collection with a `response-id` after a 202.
struct AcceptedAnswers: Sendable {
    /// ESET keeps an uncollected answer for 10 minutes.
    static let lifetimeMicros: Int64 = 600_000_000

    struct Pending: Sendable {
        var fingerprint: Fingerprint
        /// The company whose token asked; another company's token cannot collect it.
        var company: Int
        var asked: Int
        var required: Int
        var createdMicros: Int64
        var reply: SandboxReply
    }

    /// What makes two requests identical: method, path, query and body (not the token).
    struct Fingerprint: Sendable, Equatable {
        var method: String
        var path: String
        var query: String
        var body: Data

        init(_ request: IncomingRequest) {
            method = request.method
            path = request.path
            query = request.rawQuery
            body = request.body
        }
    }

    enum Collection {
        case stillPending
        case ready(SandboxReply)
        case unknown
        case mismatch
    }

    private var pending: [String: Pending] = [:]

    /// Keeps `reply` for `request` of `company`, already asked once; returns the `response-id`.
    mutating func keep(_ reply: SandboxReply, for request: IncomingRequest, company: Int, required: Int,
                       nowMicros: Int64) -> String
    {
        let id = UUID().uuidString.lowercased()
        pending[id] = Pending(fingerprint: Fingerprint(request), company: company, asked: 1, required: required,
                              createdMicros: nowMicros, reply: reply)
        return id
    }

    /// Forgets the pending answer `id` of `company` (ESET gave up on it: 504).
    mutating func forget(_ id: String, company: Int) {
        if pending[id]?.company == company { pending[id] = nil }
    }

    /// Asks for the answer of `id` once more, for `company`; the answer is handed out once, then
    /// forgotten. Another company's `response-id` is unknown to this one.
    mutating func collect(_ id: String, for request: IncomingRequest, company: Int, nowMicros: Int64) -> Collection {
        pending = pending.filter { nowMicros - $0.value.createdMicros <= Self.lifetimeMicros }
        guard var entry = pending[id], entry.company == company else { return .unknown }
        guard entry.fingerprint == Fingerprint(request) else { return .mismatch }
        if entry.asked < entry.required {
            entry.asked += 1
            pending[id] = entry
            return .stillPending
        }
        pending[id] = nil
        return .ready(entry.reply)
    }
}

/// A sliding one-second window over accepted requests (rejected ones are not counted).
struct RateWindow: Sendable {
    private var arrivals: [ContinuousClock.Instant] = []

    /// Records the request when it fits into the limit; `false` when it is over.
    mutating func admit(limit: Int?, at now: ContinuousClock.Instant) -> Bool {
        guard let limit else { return true }
        let start = now - .seconds(1)
        if let firstInside = arrivals.firstIndex(where: { $0 > start }) {
            arrivals.removeFirst(firstInside)
        } else {
            arrivals.removeAll()
        }
        guard arrivals.count < limit else { return false }
        arrivals.append(now)
        return true
    }
}
