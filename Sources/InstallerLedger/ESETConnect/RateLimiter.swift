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

/// Allows at most `rate` request starts in any sliding window of a second (with a 5 %
/// margin, since requests reach the server a little later or earlier than they leave).
public actor RateLimiter {
    let capacity: Int
    let window: Double
    let clock: ClientClock
    var starts: [Double] = []

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

    /// Waits until a request may start, and counts it.
    public func acquire() async throws {
        while true {
            let now = clock.now()
            starts.removeAll { $0 <= now - window }
            if starts.count < capacity {
                starts.append(now)
                return
            }
            try await clock.sleep(starts[0] + window - now)
        }
    }
}
