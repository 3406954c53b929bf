import Foundation

extension Theme {
    /// Where `--theme NAME` looks for `NAME.theme`: `$GWLB_THEMES`, then `themes/` next to the
    /// installed binary's `share/gwlb`, then the source tree's `themes/` (for `swift run`).
    public static func searchDirectories(executable: String, environment: [String: String]) -> [String] {
        let binary = URL(fileURLWithPath: executable).deletingLastPathComponent()
        var directories = environment["GWLB_THEMES"].map { [$0] } ?? []
        directories.append(binary.appendingPathComponent("../share/gwlb/themes").standardized.path)
        // .build/<triple>/debug/gwlb → the package's themes/.
        var folder = binary
        for _ in 0..<4 {
            folder = folder.deletingLastPathComponent()
            directories.append(folder.appendingPathComponent("themes").path)
        }
        return directories
    }

    public enum LoadError: Error, CustomStringConvertible, Equatable {
        case notFound(name: String, searched: [String])

        public var description: String {
            switch self {
            case .notFound(let name, let searched): "no theme \(name).theme in \(searched.joined(separator: ", "))"
            }
        }
    }

    /// The theme `name` from the first directory that has it, and what its file could not say.
    public static func load(named name: String, from directories: [String]) throws -> (theme: Theme, warnings: [Warning]) {
        for directory in directories {
            let path = (directory as NSString).appendingPathComponent("\(name).theme")
            if let text = try? String(contentsOfFile: path, encoding: .utf8) { return parse(text, name: name) }
        }
        throw LoadError.notFound(name: name, searched: directories)
    }

    /// The names of the themes in `directories`, each once, sorted.
    public static func available(in directories: [String]) -> [String] {
        Set(directories.flatMap { directory in
            ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".theme") }.map { String($0.dropLast(6)) }
        }).sorted()
    }
}
