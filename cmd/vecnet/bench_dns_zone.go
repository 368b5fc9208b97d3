package main

// dnsBenchOrigin is the apex of the zone every server of "vecnet bench
// dns" serves.
const dnsBenchOrigin = "bench.test."

// dnsBenchZone is that zone, written to a temporary file for each server.
const dnsBenchZone = `$ORIGIN bench.test.
$TTL 3600
@       IN SOA  ns1.bench.test. hostmaster.bench.test. 2024010101 7200 900 1209600 300
@       IN NS   ns1
@       IN NS   ns2
@       IN MX   10 mail
@       IN A    192.0.2.1
@       IN TXT  "v=spf1 mx -all"
ns1     IN A    192.0.2.53
ns2     IN A    192.0.2.54
www     IN A    192.0.2.80
www     IN AAAA 2001:db8::80
alias   IN CNAME www
mail    IN A    192.0.2.25
mail    IN AAAA 2001:db8::25
txt     IN TXT  "first string" "second string"
`

// dnsBenchQueries is the query mix (kxdpgun and dnsperf template format,
// "NAME TYPE" per line): answers, a CNAME chain, NODATA and NXDOMAIN.
const dnsBenchQueries = `www.bench.test. A
www.bench.test. AAAA
bench.test. NS
bench.test. SOA
bench.test. MX
bench.test. TXT
alias.bench.test. A
mail.bench.test. A
txt.bench.test. TXT
www.bench.test. MX
nothere.bench.test. A
ns1.bench.test. A
`
