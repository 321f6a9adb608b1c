import Foundation

/// Removes temporary output files (export, rotate's hand-over file) when the process is
/// interrupted (SIGINT, SIGTERM, SIGHUP), then lets the signal end the process as it would
/// have. Only async-signal-safe calls run in the handler: `unlink`, `signal`, `raise`.
enum InterruptCleanup {
    /// Up to four temporary paths, as C strings that live until the process ends.
    nonisolated(unsafe) static let paths: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
        let p = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: 4)
        p.initialize(repeating: nil, count: 4)
        return p
    }()
    nonisolated(unsafe) static var count = 0

    static func install() {
        _ = paths
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig) { sig in
                for k in 0..<4 { if let p = InterruptCleanup.paths[k] { unlink(p) } }
                signal(sig, SIG_DFL)
                raise(sig)
            }
        }
        // A file-size limit makes write fail with EFBIG (cleaned up, exit 74) instead of killing.
        signal(SIGXFSZ, SIG_IGN)
    }

    static func remember(_ path: String) {
        guard count < 4 else { return }
        paths[count] = strdup(path)
        count += 1
    }
}

/// The first SIGINT asks the run to stop starting new work; the second one quits at once.
final class InterruptHandler: @unchecked Sendable {
    private let source: any DispatchSourceSignal
    private let lock = NSLock()
    private var count = 0

    init(_ onFirst: @escaping @Sendable () -> Void) {
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { [unowned self] in
            let n = self.lock.withLock { self.count += 1; return self.count }
            if n == 1 {
                StandardError.write("\ninstaller-ledger: stopping: no new line is started, waiting for those in flight (Ctrl-C again to quit now)\n")
                onFirst()
            } else {
                signal(SIGINT, SIG_DFL)
                raise(SIGINT)
            }
        }
        source.resume()
    }

    func cancel() {
        source.cancel()
        signal(SIGINT, SIG_DFL)
    }
}
