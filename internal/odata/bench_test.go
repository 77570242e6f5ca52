package odata

import "testing"

func BenchmarkParseExpandLevels(b *testing.B) {
	const raw = "%24expand=manager%28%24levels%3Dmax%3B%24select%3Did%2CdisplayName%29&%24select=id%2CdisplayName"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(raw, false); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseFilter(b *testing.B) {
	const filter = "startswith(displayName,'adele') and accountEnabled eq true and " +
		"proxyAddresses/any(p:startswith(p,'smtp:')) and not (userType eq 'Guest') and " +
		"id in ('0ac7e1d4-1234-4abc-9def-0123456789ab','b') and createdDateTime ge 2021-01-01T00:00:00Z"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseFilter(filter); err != nil {
			b.Fatal(err)
		}
	}
}
