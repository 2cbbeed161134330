"""Local fakes of the outside systems supplier-gateway talks to, speaking their
documented protocols, for tests (and system tests, benchmarks): CJdropshipping API 2.0
(:mod:`.fake_cj`), a supplier on our http protocol (:mod:`.fake_http_supplier`), and a
runner that serves one on a real local port (:mod:`.server`)."""
