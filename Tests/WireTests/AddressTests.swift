import Testing
@testable import Wire

@Suite struct AddressTests {
    @Test(arguments: ["0.0.0.0", "198.18.0.1", "255.255.255.255"])
    func ipv4RoundTrip(text: String) throws {
        #expect(try #require(IPv4Address(text)).description == text)
    }

    @Test(arguments: ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1..2.3", "a.b.c.d", " 1.2.3.4", "1.2.3.4 "])
    func ipv4Rejects(text: String) {
        #expect(IPv4Address(text) == nil)
    }

    /// RFC 5952 §4 canonical text.
    @Test(arguments: [
        ("2001:db8:0:0:0:0:2:1", "2001:db8::2:1"),
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
        ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("FD00::1", "fd00::1"),
        ("::", "::"),
        ("::1", "::1"),
        ("1::", "1::"),
        ("::ffff:198.18.0.1", "::ffff:198.18.0.1"),
        ("fd00::198.18.0.1", "fd00::c612:1"),
    ])
    func ipv6Canonical(input: String, canonical: String) throws {
        let address = try #require(IPv6Address(input))
        #expect(address.description == canonical)
        #expect(IPv6Address(canonical) == address)
    }

    @Test(arguments: ["", ":", ":::", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "g::1", ":1::", "1:2:3:4:5:6:7::8", "::1.2.3"])
    func ipv6Rejects(text: String) {
        #expect(IPv6Address(text) == nil)
    }

    @Test func mappedForm() {
        let v4 = IPv4Address(198, 18, 0, 1)
        let mapped = IPv6Address(mapping: v4)
        #expect(mapped.isIPv4Mapped && mapped.mappedIPv4 == v4)
        #expect(!IPv6Address("fd00::1")!.isIPv4Mapped)
    }
}
