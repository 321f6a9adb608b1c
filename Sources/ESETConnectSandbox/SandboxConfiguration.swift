import Foundation

/// How a ``SandboxServer`` starts: where it listens, which credentials it accepts,
/// what data it holds at start and how it encodes answers.
public struct SandboxConfiguration: Sendable {
    /// Address to listen on. Only loopback addresses are accepted (`127.0.0.1`, `::1`, `localhost`).
    public var host: String
    /// TCP port; 0 picks a free port (read it from the URL that ``SandboxServer/start()`` returns).
    public var port: UInt16
    /// The password the token endpoint accepts; any username is accepted.
    public var password: String
    /// How many generated installers exist at start (deterministic for a given ``seed``), in the
    /// single-company mode; ignored when ``tenants`` are given.
    public var prepopulatedInstallers: Int
    /// Seed of the generator of pre-populated installers; with ``tenants``, the seed of those
    /// that give none (mixed with each username, see ``SandboxTenant/effectiveSeed(base:)``).
    public var seed: UInt64
    /// Lifetime of access tokens in seconds, measured by the sandbox clock (`expires_in`).
    public var tokenLifetime: TimeInterval
    /// Lifetime of refresh tokens in seconds, measured by the sandbox clock (ESET does not document it).
    public var refreshTokenLifetime: TimeInterval
    /// Encode int64 fields (`productId`, `id`, `operatingSystemFamilyId`, `totalSize`) as JSON
    /// strings, as gRPC-gateway does; `false` encodes them as numbers.
    public var int64AsStrings: Bool
    /// Leave out fields that hold their default value (`false`, `""`), as proto3 JSON may.
    public var omitDefaultValues: Bool
    /// Add a field ESET does not document to every installer, to check that clients ignore unknown keys.
    public var includeUnknownFields: Bool
    /// Keep connections open between requests. Off by default: every answer says
    /// `Connection: close`, because libcurl (URLSession on Linux) silently re-sends a request
    /// whose *reused* connection closes unanswered, which would turn a dropped GET into a
    /// duplicate and a dropped POST into a 60-second hang instead of a network error.
    public var keepAlive: Bool
    /// The knobs in effect at start; change them later with ``SandboxServer/setKnobs(_:)``.
    public var knobs: SandboxKnobs
    /// The companies, one per username. Empty (the default): every username shares one company
    /// of ``prepopulatedInstallers`` installers and the groups and licences of ``SandboxCatalog``.
    /// Given: each listed username is a company of its own (installers, device groups, licences),
    /// a username not listed logs in to a new empty company of its own, and no token ever shows
    /// another company's installers. Knobs, clock, rate limit and request log stay server-wide,
    /// as one server is one ESET region.
    public var tenants: [SandboxTenant]

    /// The seed used when none is given.
    public static let defaultSeed: UInt64 = 0x5EED_E5E7_C0DE

    /// Makes a configuration; every parameter has the default a test usually wants.
    public init(
        host: String = "127.0.0.1",
        port: UInt16 = 0,
        password: String = "sandbox",
        prepopulatedInstallers: Int = 0,
        seed: UInt64 = SandboxConfiguration.defaultSeed,
        tokenLifetime: TimeInterval = 3600,
        refreshTokenLifetime: TimeInterval = 30 * 86_400,
        int64AsStrings: Bool = true,
        omitDefaultValues: Bool = false,
        includeUnknownFields: Bool = false,
        keepAlive: Bool = false,
        knobs: SandboxKnobs = SandboxKnobs(),
        tenants: [SandboxTenant] = []
    ) {
        self.host = host
        self.port = port
        self.password = password
        self.prepopulatedInstallers = prepopulatedInstallers
        self.seed = seed
        self.tokenLifetime = tokenLifetime
        self.refreshTokenLifetime = refreshTokenLifetime
        self.int64AsStrings = int64AsStrings
        self.omitDefaultValues = omitDefaultValues
        self.includeUnknownFields = includeUnknownFields
        self.keepAlive = keepAlive
        self.knobs = knobs
        self.tenants = tenants
    }
}

/// Misbehaviour to inject, adjustable while the sandbox runs (``SandboxServer/setKnobs(_:)``
/// or `PUT`/`PATCH /_sandbox/knobs`).
///
/// Latency and the rate limit apply to the token endpoint and to `/v1/...`; every other knob
/// applies to `/v1/...` requests only, so a client's token request does not consume them.
/// The control endpoints under `/_sandbox/` are never affected.
public struct SandboxKnobs: Sendable, Codable, Equatable {
    /// Delay added before every answer, in milliseconds.
    public var latencyMilliseconds: Int
    /// How many times a successful request is answered 202 (with a `response-id` header)
    /// before its result can be collected; 0 answers at once.
    public var accepted202Count: Int
    /// Requests allowed in any sliding one-second window; over it the answer is 429. `nil`: no limit.
    public var rateLimitPerSecond: Int?
    /// Value of the `Retry-After` header on 429 answers; `nil`: no header.
    public var retryAfterSeconds: Int?
    /// Status codes to answer the next requests with, one per request, without acting (e.g. `[503, 503]`).
    public var failNext: [Int]
    /// How many next requests to drop before acting: the connection is closed without an answer.
    public var dropNextBeforeProcessing: Int
    /// How many next successful requests to drop after acting (e.g. the installer is created),
    /// closing the connection without an answer: the client's "uncertain outcome".
    public var dropNextAfterProcessing: Int
    /// Error bodies as an HTML page, as a proxy in front of the API would send.
    public var nonJSONErrorBodies: Bool
    /// How many next 200 answers carry a truncated JSON body.
    public var malformedNext: Int
    /// Status codes to answer the next collections with (requests that carry a `response-id`
    /// after a 202), one per collection, without handing the answer out. A 504 also forgets the
    /// pending answer, as ESET does when it is not ready within 120 s: the client must send the
    /// request again without `response-id` (collecting with the old one gives 404). Other
    /// statuses keep it for the next collection.
    public var failNextCollection: [Int]

    /// Makes knobs; the defaults inject nothing.
    public init(
        latencyMilliseconds: Int = 0,
        accepted202Count: Int = 0,
        rateLimitPerSecond: Int? = nil,
        retryAfterSeconds: Int? = nil,
        failNext: [Int] = [],
        dropNextBeforeProcessing: Int = 0,
        dropNextAfterProcessing: Int = 0,
        nonJSONErrorBodies: Bool = false,
        malformedNext: Int = 0,
        failNextCollection: [Int] = []
    ) {
        self.latencyMilliseconds = latencyMilliseconds
        self.accepted202Count = accepted202Count
        self.rateLimitPerSecond = rateLimitPerSecond
        self.retryAfterSeconds = retryAfterSeconds
        self.failNext = failNext
        self.dropNextBeforeProcessing = dropNextBeforeProcessing
        self.dropNextAfterProcessing = dropNextAfterProcessing
        self.nonJSONErrorBodies = nonJSONErrorBodies
        self.malformedNext = malformedNext
        self.failNextCollection = failNextCollection
    }

    /// Decodes knobs; absent keys take their default, so `{"failNext":[503]}` is complete.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            latencyMilliseconds: try c.decodeIfPresent(Int.self, forKey: .latencyMilliseconds) ?? 0,
            accepted202Count: try c.decodeIfPresent(Int.self, forKey: .accepted202Count) ?? 0,
            rateLimitPerSecond: try c.decodeIfPresent(Int.self, forKey: .rateLimitPerSecond),
            retryAfterSeconds: try c.decodeIfPresent(Int.self, forKey: .retryAfterSeconds),
            failNext: try c.decodeIfPresent([Int].self, forKey: .failNext) ?? [],
            dropNextBeforeProcessing: try c.decodeIfPresent(Int.self, forKey: .dropNextBeforeProcessing) ?? 0,
            dropNextAfterProcessing: try c.decodeIfPresent(Int.self, forKey: .dropNextAfterProcessing) ?? 0,
            nonJSONErrorBodies: try c.decodeIfPresent(Bool.self, forKey: .nonJSONErrorBodies) ?? false,
            malformedNext: try c.decodeIfPresent(Int.self, forKey: .malformedNext) ?? 0,
            failNextCollection: try c.decodeIfPresent([Int].self, forKey: .failNextCollection) ?? []
        )
    }
}

/// Why a ``SandboxServer`` could not start.
public enum SandboxError: Error, LocalizedError, Equatable {
    /// The host is not a loopback address; the sandbox never listens on a network.
    case nonLoopbackHost(String)
    /// The server is already running.
    case alreadyStarted
    /// The socket could not be opened or bound.
    case cannotListen(String)
    /// A tenant (or a `--tenant` value) is malformed, has no username or is listed twice.
    case invalidTenant(String, reason: String)

    public var errorDescription: String? {
        switch self {
        case .nonLoopbackHost(let host):
            return "The sandbox listens on loopback only; '\(host)' is not a loopback address. Use 127.0.0.1, ::1 or localhost."
        case .alreadyStarted:
            return "The sandbox is already running; stop it before starting it again."
        case .cannotListen(let reason):
            return "The sandbox cannot listen: \(reason). Choose another port, or 0 for a free one."
        case .invalidTenant(let value, let reason):
            return "Invalid tenant '\(value)': \(reason)."
        }
    }
}
