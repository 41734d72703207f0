module campus.local/tools/caddy

go 1.26.0

tool github.com/caddyserver/caddy/v2/cmd/caddy
