import Foundation
import ServiceKit
import Testing

/// The settings table is the one place a setting is written: the docs show it, and every
/// `DELIVERY_*` name the scripts, manifests and tests use is in it.
@Suite struct SettingsTableTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func read(_ path: String) throws -> String { try String(contentsOf: Self.root.appendingPathComponent(path), encoding: .utf8) }

    @Test func theDocsShowTheTable() throws {
        let docs = try read("docs/operations.md")
        let start = try #require(docs.range(of: "<!-- settings-table: generated"))
        let body = docs[start.upperBound...]
        let open = try #require(body.range(of: "-->\n"))
        let end = try #require(body.range(of: "\n<!-- settings-table: end -->"))
        let shown = String(body[open.upperBound..<end.lowerBound])
        #expect(shown == SettingsTable.markdown(), "docs/operations.md's settings table differs; put this there:\n\(SettingsTable.markdown())")
    }

    @Test func everyNameIsWrittenOnceWithItsOwnFlag() {
        let names = SettingsTable.all.map(\.variable)
        #expect(Set(names).count == names.count)
        #expect(Set(SettingsTable.all.map(\.flag)).count == names.count)
        for spec in SettingsTable.all {
            #expect(spec.variable.hasPrefix("DELIVERY_"))
            if let fallback = spec.fallback, let range = spec.range {
                #expect(Int(fallback).map(range.contains) == true, "\(spec.variable)'s default is outside its range")
            }
        }
    }

    /// A `DELIVERY_*` name used anywhere that the services do not know is a typo that silently
    /// does nothing.
    @Test func everyNameUsedIsInTheTable() throws {
        let known = Set(SettingsTable.all.map(\.variable))
        // Names that are not service settings: those the deploy files interpolate (the image, the
        // address ports are published on, the swarm's endpoint and port modes), the bench's own,
        // the Docker test's switch, and the Python package's query endpoint (clients/python; the
        // CLI's is DELIVERY_ENDPOINT, which the package reads too).
        let others: Set<String> = [
            "DELIVERY_IMAGE", "DELIVERY_BIN", "DELIVERY_PUBLISH_ADDRESS", "DELIVERY_ENDPOINT_MODE", "DELIVERY_PORT_MODE",
            "DELIVERY_DOCKER_REQUIRED", "DELIVERY_QUERY",
        ]
        var files = ["scripts/stack", "scripts/run-demo", "Shared/TestSupport/LocalStack.swift", "README.md", "docs/operations.md", "docs/security.md"]
        for folder in ["system-tests", "deploy", "Tests/IntegrationTests"] {
            let enumerator = FileManager.default.enumerator(at: Self.root.appendingPathComponent(folder), includingPropertiesForKeys: nil)
            while let url = enumerator?.nextObject() as? URL {
                guard ["py", "yml", "yaml", "swift", "env"].contains(url.pathExtension) else { continue }
                files.append(String(url.path.dropFirst(Self.root.path.count + 1)))
            }
        }
        let pattern = try NSRegularExpression(pattern: "DELIVERY_[A-Z0-9_]*[A-Z0-9]")
        var unknown: [String] = []
        for file in files {
            let text = try read(file)
            for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                let name = String(text[Range(match.range, in: text)!])
                if !known.contains(name) && !others.contains(name) { unknown.append("\(file): \(name)") }
            }
        }
        #expect(unknown.isEmpty, "not settings: \(unknown)")
    }
}
