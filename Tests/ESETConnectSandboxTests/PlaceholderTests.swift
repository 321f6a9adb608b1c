import Testing
@Test func sandboxPlaceholder() { #expect(true) }
