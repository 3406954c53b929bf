/// What gwlbd's JSON endpoints answer with a 4xx or 5xx status: why, in a sentence.
public struct ErrorAnswer: Codable, Sendable, Equatable {
    public var error: String

    public init(_ error: String) {
        self.error = error
    }
}
