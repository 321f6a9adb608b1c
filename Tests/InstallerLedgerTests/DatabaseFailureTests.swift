import Foundation
import GRDB
import Testing
@testable import InstallerLedger

/// A database failure is never "an internal error, please report it": a full disk, an I/O
/// error or a read-only ledger is a local I/O error (74) saying what to do, a lock past the
/// busy timeout is temporary (75), and the ledger keeps what it had.
@Suite struct DatabaseFailureTests {
    static func answers(_ count: Int, from start: Int = 0) -> ImportInput {
        let lines = (start..<start + count).map { n in
            Sample.answer(Sample.installer(uuid: String(format: "%08x-0000-4000-8000-000000000000", n), name: "Installer \(n)"))
        }
        return Sample.input(lines.joined(separator: "\n"), name: "many.ndjson")
    }

    @Test(.sqliteOnly) func aFullDiskIsAnIOErrorAndTheLedgerKeepsWhatItHad() throws {
        let folder = TemporaryFolder()
        let ledger = try Ledger.open(path: folder.file("ledger.sqlite"))
        _ = try ledger.importAnswers([Self.answers(3)], at: Sample.now)
        let before = try ledger.contentDump()
        // The disk is full a few pages from now (SQLite's own limit: no tmpfs needed).
        let pages = try ledger.read { db in try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0 }
        try ledger.writeDatabaseWithoutTransaction { db in try db.execute(sql: "PRAGMA max_page_count = \(pages + 2)") }
        do {
            _ = try ledger.importAnswers([Self.answers(2000, from: 100)], at: Sample.now)
            Issue.record("an import past a full disk must fail")
        } catch {
            let failure = try #require(classifiedError(error), "\(error)")
            #expect(failure.exitClass == .ioError)
            #expect(failure.description.contains("the disk holding the ledger is full"))
            #expect(failure.description.contains("keeps what it had"))
        }
        #expect(try ledger.contentDump() == before)
        // Space again: the same import goes through.
        try ledger.writeDatabaseWithoutTransaction { db in try db.execute(sql: "PRAGMA max_page_count = 1073741823") }
        #expect(try ledger.importAnswers([Self.answers(2000, from: 100)], at: Sample.now).new == 2000)
    }

    @Test func everySQLiteFailureHasAClassAndANextStep() {
        let cases: [(ResultCode, ExitClass, String)] = [
            (.SQLITE_FULL, .ioError, "full"), (.SQLITE_IOERR, .ioError, "I/O error"), (.SQLITE_READONLY, .ioError, "writable"),
            (.SQLITE_CANTOPEN, .ioError, "cannot be opened"), (.SQLITE_CORRUPT, .ioError, "damaged"),
            (.SQLITE_BUSY, .temporary, "run the command again"), (.SQLITE_LOCKED, .temporary, "locked"),
            (.SQLITE_MISMATCH, .internalError, "please report it"),
        ]
        for (code, exitClass, words) in cases {
            let failure = DatabaseFailure(DatabaseError(resultCode: code, message: "x"))
            #expect(failure.exitClass == exitClass, "\(code)")
            #expect(failure.description.contains(words), "\(code): \(failure.description)")
        }
    }

    @Test func everyLibraryErrorSaysItsExitClass() {
        let errors: [(any Error, ExitClass)] = [
            (LedgerError.installerNotFound("x"), .usage), (LedgerError.cannotOpen(path: "p", reason: "r"), .ioError),
            (ImportError.unreadable(file: "f", reason: "r"), .ioError), (CreationPlanError.empty(file: "f"), .dataError),
            (ESETConnectError.http(status: 401, requestId: nil, message: "m"), .notAllowed),
            (ESETConnectError.uncertain(requestId: nil, message: "m"), .uncertain),
            (ReportError.ledgerMissing(path: "p"), .ioError), (OutputFileError.destinationIsFolder("d"), .ioError),
            (HandOverError(path: "p", reason: "r"), .ioError), (TransportError(mayHaveBeenSent: false, description: "d"), .unavailable),
            (AccountError.unknown("a", known: []), .usage), (AccountError.credentialsUnreadable(account: "a", reason: "r"), .notAllowed),
            (DatabaseError(resultCode: .SQLITE_FULL), .ioError),
        ]
        for (error, exitClass) in errors {
            #expect(classifiedError(error)?.exitClass == exitClass, "\(error)")
        }
        struct Unknown: Error {}
        #expect(classifiedError(Unknown()) == nil)
    }
}
