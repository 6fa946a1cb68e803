-- localaks: Debian packages lua-resty-cookie as nginx.cookie.
return require("nginx.cookie")
