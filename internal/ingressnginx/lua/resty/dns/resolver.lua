-- localaks: Debian packages lua-resty-dns as nginx.dns.resolver.
return require("nginx.dns.resolver")
