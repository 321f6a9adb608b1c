/// Time for the client: a monotonic reading in seconds and a way to wait. Tests inject a
/// virtual clock so nothing sleeps for real.
public struct ClientClock: Sendable {
    public var now: @Sendable () -> Double
    public var sleep: @Sendable (Double) async throws -> Void

    public init(now: @escaping @Sendable () -> Double, sleep: @escaping @Sendable (Double) async throws -> Void) {
        self.now = now
        self.sleep = sleep
    }

    /// The system's monotonic clock.
    public static let system = ClientClock(
        now: { MonotonicClock.seconds() },
        sleep: { seconds in
            if seconds > 0 { try await Task.sleep(nanoseconds: UInt64(seconds * 1e9)) }
        })
}

import Foundation

enum MonotonicClock {
    static func seconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// Allows at most `rate` requests in any sliding window of a second **as the server sees
/// them**, with a 5 % margin.
///
/// Counting request starts is not enough: the server stamps a request when it gets to it,
/// somewhere between the moment the client sent it and the moment the answer came back, and
/// under load early requests can be stamped late while later ones are stamped at once, so
/// well-spaced starts arrive bunched. A request started with ``begin()`` therefore occupies
/// its place in the window from its start until its answer arrives (``end(_:)``) plus the
/// window: every later request that needs its place starts a full window after the server
/// can have seen it, whatever the delays on either side.
public actor RateLimiter {
    let capacity: Int
    let window: Double
    let clock: ClientClock
    /// Requests still counted: when each stops counting, minus the window (`.infinity` while in flight).
    var held: [Int: Double] = [:]
    var nextPermit = 0
    var waiters: [CheckedContinuation<Void, Never>] = []

    /// - Parameter rate: requests per second, more than 0.
    public init(rate: Double, clock: ClientClock = .system) {
        if rate >= 1 {
            capacity = Int(rate)
            window = Double(capacity) / rate * 1.05
        } else {
            capacity = 1
            window = 1 / rate * 1.05
        }
        self.clock = clock
    }

    /// Waits until a request may start, and counts it from its start only (for callers that
    /// cannot tell when the server saw it).
    public func acquire() async throws {
        let (permit, start) = try await reserve()
        end(permit, at: start)
    }

    /// Waits until a request may start; it counts until ``end(_:)`` is called with the permit.
    public func begin() async throws -> Int {
        try await reserve().permit
    }

    func reserve() async throws -> (permit: Int, start: Double) {
        while true {
            let now = clock.now()
            held = held.filter { $0.value > now - window }
            if held.count < capacity {
                let permit = nextPermit
                nextPermit += 1
                held[permit] = .infinity
                return (permit, now)
            }
            let earliest = held.values.min()!
            if earliest == .infinity {
                // Every place is taken by a request in flight: wait for an answer.
                await withCheckedContinuation { waiters.append($0) }
            } else {
                try await clock.sleep(earliest + window - now)
            }
        }
    }

    /// The request's answer arrived (or it failed): it counts for one more window from now.
    public func end(_ permit: Int) {
        end(permit, at: clock.now())
    }

    func end(_ permit: Int, at time: Double) {
        guard held[permit] != nil else { return }
        held[permit] = time
        let woken = waiters
        waiters.removeAll()
        for waiter in woken { waiter.resume() }
    }
}
