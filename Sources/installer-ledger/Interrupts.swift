import Foundation

/// The command line's one handler of SIGINT, SIGTERM and SIGHUP.
///
/// By default a signal ends the process as it would have, after removing the temporary
/// output files that were registered (export, rotate's hand-over file: never a half-written
/// file of download URLs left behind) and running the registered clean-ups (the demo's
/// folder). A command can instead ask that the first Ctrl-C only *stop* its work
/// (`create --from`: no new line is started); a second one quits at once.
///
/// The C handler does only async-signal-safe things (`unlink`, `write`, `signal`, `raise`)
/// and does them at once, so a temporary file is gone before the interrupted thread can take
/// another step. What is not async-signal-safe (printing, a stop request, removing a folder)
/// is handed through a pipe to a dispatch source on an ordinary thread.
enum Interrupts {
    /// Up to eight temporary paths, as C strings that live until the process ends.
    nonisolated(unsafe) private static let paths: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
        let p = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: 8)
        p.initialize(repeating: nil, count: 8)
        return p
    }()
    nonisolated(unsafe) private static var pathCount = 0
    /// 1 while the first Ctrl-C only stops the work.
    nonisolated(unsafe) private static var stopping: Int32 = 0
    nonisolated(unsafe) private static var interrupted: Int32 = 0
    nonisolated(unsafe) private static var hasCleanups: Int32 = 0
    nonisolated(unsafe) private static var pipeWrite: Int32 = -1

    private static let state = HandlerLock()
    nonisolated(unsafe) private static var reader: (any DispatchSourceRead)?
    nonisolated(unsafe) private static var onStop: (@Sendable () -> Void)?
    nonisolated(unsafe) private static var cleanups = [@Sendable () -> Void]()

    /// The byte that asks the reader to stop the work (any other byte is a signal number).
    private static let stopRequest: UInt8 = 0xFF

    /// Starts handling the signals (once; later calls do nothing).
    static func install() {
        state.locked {
            guard reader == nil else { return }
            _ = paths
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else { return }
            pipeWrite = fds[1]
            let source = DispatchSource.makeReadSource(fileDescriptor: fds[0], queue: .global())
            source.setEventHandler {
                var byte: UInt8 = 0
                guard read(fds[0], &byte, 1) == 1 else { return }
                handOver(byte)
            }
            source.resume()
            reader = source
            for sig in [SIGINT, SIGTERM, SIGHUP] {
                signal(sig) { sig in
                    if sig == SIGINT, Interrupts.stopping == 1, Interrupts.interrupted == 0 {
                        Interrupts.interrupted = 1
                        var request = Interrupts.stopRequest
                        _ = write(Interrupts.pipeWrite, &request, 1)
                        return
                    }
                    for k in 0..<8 { if let p = Interrupts.paths[k] { unlink(p) } }
                    if Interrupts.hasCleanups == 1 {
                        var number = UInt8(truncatingIfNeeded: sig)
                        _ = write(Interrupts.pipeWrite, &number, 1)
                        return
                    }
                    signal(sig, SIG_DFL)
                    raise(sig)
                }
            }
            // A file-size limit makes write fail with EFBIG (cleaned up, exit 74) instead of killing.
            signal(SIGXFSZ, SIG_IGN)
        }
    }

    /// Removes `path` if the process is interrupted; called just before the file is made.
    static func removeOnInterrupt(_ path: String) {
        install()
        state.locked {
            guard pathCount < 8 else { return }
            paths[pathCount] = strdup(path)
            pathCount += 1
        }
    }

    /// Runs `cleanup` if the process is interrupted, before it ends.
    static func onInterrupt(_ cleanup: @escaping @Sendable () -> Void) {
        install()
        state.locked {
            cleanups.append(cleanup)
            hasCleanups = 1
        }
    }

    /// The first Ctrl-C calls `stop` (and says so) instead of ending the process; a second
    /// one ends it. Until `endStopping()`.
    static func stopOnFirstInterrupt(_ stop: @escaping @Sendable () -> Void) {
        install()
        state.locked {
            onStop = stop
            interrupted = 0
            stopping = 1
        }
    }

    /// Ctrl-C ends the process again.
    static func endStopping() {
        state.locked {
            stopping = 0
            onStop = nil
        }
    }

    /// On the reader's thread: a stop request, or the clean-ups of a signal and its default action.
    private static func handOver(_ byte: UInt8) {
        if byte == stopRequest {
            StandardError.write("\ninstaller-ledger: stopping: no new line is started, waiting for those in flight (Ctrl-C again to quit now)\n")
            state.locked { onStop }?()
            return
        }
        for cleanup in state.locked({ cleanups }) { cleanup() }
        let sig = Int32(byte)
        signal(sig, SIG_DFL)
        // To the process, not this thread: dispatch's threads block signals.
        kill(getpid(), sig)
    }
}

/// A lock around the handler's state (not used from the C handler itself).
private final class HandlerLock: @unchecked Sendable {
    private let lock = NSLock()
    func locked<T>(_ body: () -> T) -> T { lock.withLock(body) }
}
