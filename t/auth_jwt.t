#!/usr/bin/perl
# JWT verification in the access phase (ngx_http_gonsters_auth_module):
# HS256, RS256 and ES256 with kid rotation; forged and broken tokens and
# Authorization headers, each a 401 with the seed's JSON body and an
# RFC 6750 WWW-Authenticate header; permissions (403); token from a cookie;
# CORS preflight; claims as variables sent upstream through proxy_pass;
# "gonsters_auth off" inside a protected server; "satisfy any"; the token
# cache; and nginx -t on bad configurations.  Keys are generated with the
# openssl command line in a temporary directory.

use strict;
use warnings;
use lib 't/lib';

use Digest::SHA qw(hmac_sha256);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use JSON::PP;
use MIME::Base64 qw(encode_base64url);
use Test::More;
use Time::HiRes qw(sleep time);
use Gonsters::Test qw(free_port genkey http json_body openssl read_file write_file);

my $keys = tempdir('gonsters-keys-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $json = JSON::PP->new->canonical->utf8;


# keys





genkey($keys, 'rsa1', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048');
genkey($keys, 'rsa2', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048');
genkey($keys, 'ec1', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256');

my $hs_main = 'a3f1' x 16;                  # 64 bytes
my $hs_k2 = 'k2k2-secret-' x 4;             # 48 bytes
write_file("$keys/hs_main", "$hs_main\n");        # the trailing newline is trimmed
write_file("$keys/hs_k2", $hs_k2);


# tokens

sub b64u { return encode_base64url($_[0]) }

# one character of the signature changed
sub flip {
    my ($token, $at) = @_;
    my $c = substr($token, $at, 1);
    substr($token, $at, 1) = $c eq 'A' ? 'B' : 'A';
    return $token;
}

sub signing_input {
    my ($header, $claims) = @_;
    return b64u(ref $header ? $json->encode($header) : $header) . '.'
         . b64u(ref $claims ? $json->encode($claims) : $claims);
}

sub hs256 {
    my ($header, $claims, $secret) = @_;
    my $si = signing_input($header, $claims);
    return "$si." . b64u(hmac_sha256($si, $secret));
}

# DER ECDSA-Sig-Value -> raw R || S (32 bytes each), as JWS wants
sub der_to_raw {
    my @b = unpack 'C*', $_[0];
    my $i = 0;
    die 'not a DER sequence' unless $b[$i++] == 0x30;
    $i++ if $b[$i] & 0x80;
    $i++;
    my $raw = '';
    for (1 .. 2) {
        die 'not a DER integer' unless $b[$i++] == 0x02;
        my $len = $b[$i++];
        my $v = pack 'C*', @b[$i .. $i + $len - 1];
        $i += $len;
        $v =~ s/^\x00+//;
        $raw .= ("\x00" x (32 - length $v)) . $v;
    }
    return $raw;
}

sub signed {
    my ($header, $claims, $key) = @_;
    my $si = signing_input($header, $claims);
    my $in = write_file("$keys/signing_input", $si);
    openssl('dgst', '-sha256', '-sign', "$keys/$key.pem", '-out', "$keys/sig", $in);
    my $sig = read_file("$keys/sig");
    $sig = der_to_raw($sig) if $key =~ /^ec/;
    return "$si." . b64u($sig);
}

my $now = time;
$now = int $now;

sub claims {
    my (%over) = @_;
    my %c = (
        sub         => 'd1c2084b-f16a-4eea-89d9-4402095d3af5',
        username    => 'john.doe',
        email       => 'john.doe@factory.com',
        role        => 'Management',
        permissions => ['read:machines', 'write:machines', 'read:config',
                        'write:config'],
        factory_id  => 'factory-A',
        department  => 'Operations',
        iat         => $now,
        exp         => $now + 3600,
        iss         => 'gonsters-backend-api',
        aud         => 'gonsters-dashboard',
        jti         => '6f1c2a9e-0d4b-4c1e-9a53-2b7f8e1d4c60',
        type        => 'access',
    );
    while (my ($k, $v) = each %over) {
        if (defined $v) { $c{$k} = $v } else { delete $c{$k} }
    }
    return \%c;
}

my $HS = { alg => 'HS256', typ => 'JWT' };


# requests

sub get {
    my ($t, $path, %headers) = @_;
    return http(GET => $t->url($path), { headers => \%headers });
}

sub bearer { return (Authorization => "Bearer $_[0]") }

my $FORMAT = 'Invalid authorization header format. Expected: Bearer <token>';
my $INVALID = 'Invalid or expired token';

# a 401: JSON body with the seed's message, and the challenge
sub is_401 {
    my ($res, $name, $message, $error, $description) = @_;
    is($res->{status}, 401, "$name: 401");
    like($res->{headers}{'content-type'} // '', qr{^application/json},
         "$name: JSON");
    my $body = json_body($res) || {};
    is($body->{status}, 'error', "$name: status error");
    is($body->{message}, $message, "$name: message");
    my $www = $res->{headers}{'www-authenticate'} // '';
    if (!defined $error) {
        is($www, 'Bearer realm="gonsters"', "$name: challenge without error");
        return;
    }
    like($www, qr/^Bearer realm="gonsters", error="\Q$error\E", error_description="[^"\\]+"$/,
         "$name: challenge with error=$error");
    like($www, $description, "$name: error_description") if $description;
}

sub is_ok {
    my ($res, $name) = @_;
    is($res->{status}, 200, "$name: 200")
        or diag("$res->{status} $res->{content} "
                . ($res->{headers}{'www-authenticate'} // ''));
}


# ---------------------------------------------------------------- HS256

my $echo_port = free_port();

my $t = Gonsters::Test->new->write_config(<<"CONF");
%%TEST_GLOBALS%%
worker_processes 1;
events { worker_connections 64; }
http {
    %%TEST_GLOBALS_HTTP%%
    large_client_header_buffers 4 128k;

    gonsters_jwt_key $keys/hs_main;
    gonsters_jwt_key $keys/hs_k2 kid=k2;
    gonsters_jwt_cookie access_token;

    server {
        listen 127.0.0.1:%%PORT%%;

        # the whole server is protected ...
        gonsters_auth jwt;

        location /api/protected { gonsters_endpoint health; }

        location /api/config {
            gonsters_require_permission write:config;
            gonsters_endpoint health;
        }

        location /api/machines {
            gonsters_require_permission read:machines write:machines;
            gonsters_endpoint health;
        }

        # ... but for what says otherwise
        location /public {
            gonsters_auth off;
            gonsters_endpoint health;
        }

        location /upstream/ {
            proxy_set_header X-User-Id \$gonsters_user_id;
            proxy_set_header X-Username \$gonsters_username;
            proxy_set_header X-Email \$gonsters_email;
            proxy_set_header X-Role \$gonsters_role;
            proxy_set_header X-Factory \$gonsters_factory_id;
            proxy_set_header X-Department \$gonsters_department;
            proxy_set_header X-Jti \$gonsters_jti;
            proxy_set_header X-Permissions \$gonsters_permissions;
            proxy_pass http://127.0.0.1:$echo_port;
        }

        location /upstream-open/ {
            gonsters_auth off;
            proxy_set_header X-User-Id \$gonsters_user_id;
            proxy_pass http://127.0.0.1:$echo_port;
        }

        location /any {
            satisfy any;
            allow 127.0.0.1;
            deny all;
            gonsters_endpoint health;
        }

        location /any-denied {
            satisfy any;
            deny all;
            gonsters_endpoint health;
        }
    }

    # the service behind: echoes what it received; no gonsters_auth here
    server {
        listen 127.0.0.1:$echo_port;

        # required permissions alone turn the check on (fail closed) ...
        location /perm-only {
            gonsters_require_permission read:machines;
            gonsters_endpoint health;
        }

        # ... unless it is explicitly off
        location /perm-off {
            gonsters_auth off;
            gonsters_require_permission read:machines;
            gonsters_endpoint health;
        }

        location / {
            return 200 "uid=\$http_x_user_id;user=\$http_x_username;email=\$http_x_email;role=\$http_x_role;factory=\$http_x_factory;dept=\$http_x_department;jti=\$http_x_jti;perms=\$http_x_permissions;auth=\$http_authorization";
        }
    }
}
CONF
$t->run;

my $good = hs256($HS, claims(), $hs_main);

is_ok(get($t, '/api/protected', bearer($good)), 'valid HS256');
is_ok(get($t, '/api/protected', bearer($good)), 'valid HS256 again (cache)');
is_ok(get($t, '/api/protected', Authorization => "bearer $good"), 'lowercase bearer');
is_ok(get($t, '/api/protected', Authorization => "BEARER   $good"), 'BEARER and spaces');
is_ok(get($t, '/public'), 'gonsters_auth off inside a protected server');

# kid rotation: the key without kid, and k2
is_ok(get($t, '/api/protected',
          bearer(hs256({ %$HS, kid => 'k2' }, claims(), $hs_k2))), 'kid k2');
is_401(get($t, '/api/protected',
           bearer(hs256({ %$HS, kid => 'k2' }, claims(), $hs_main))),
       'kid k2 signed with the other key', $INVALID, 'invalid_token',
       qr/invalid signature/);
is_401(get($t, '/api/protected',
           bearer(hs256({ %$HS, kid => 'k3' }, claims(), $hs_main))),
       'unknown kid', $INVALID, 'invalid_token', qr/unknown key id/);

# the Authorization header
is_401(get($t, '/api/protected'), 'no credentials',
       'Missing authorization header');
is_401(get($t, '/api/protected', Authorization => ''), 'empty header',
       'Missing authorization header');
is_401(get($t, '/api/protected', Authorization => 'Bearer'), 'just Bearer',
       $FORMAT, 'invalid_request', qr/no token after Bearer/);
is_401(get($t, '/api/protected', Authorization => 'Bearer '), 'Bearer and a space',
       $FORMAT, 'invalid_request');
is_401(get($t, '/api/protected', Authorization => 'Basic dXNlcjpwYXNz'),
       'another scheme', $FORMAT);
is_401(get($t, '/api/protected', Authorization => 'garbage'), 'garbage',
       $FORMAT, 'invalid_request');
is_401(get($t, '/api/protected', Authorization => "Bearer$good"),
       'no space after Bearer', $FORMAT, 'invalid_request');
is_401(get($t, '/api/protected', Authorization => "Bearer $good $good"),
       'two tokens', $FORMAT, 'invalid_request', qr/more than one token/);
is_401(get($t, '/api/protected', bearer('x' x 65536)), '64 KB token',
       $FORMAT, 'invalid_request', qr/token too long/);
is_401(get($t, '/api/protected', bearer(substr($good, 0, -5))),
       'truncated token', $INVALID, 'invalid_token');
is_401(get($t, '/api/protected', bearer(substr($good, 0, 40))),
       'token cut in the payload', $INVALID, 'invalid_token',
       qr/malformed token/);
is_401(get($t, '/api/protected', bearer('a.b.c.d')), 'four parts', $INVALID,
       'invalid_token', qr/malformed token/);
is_401(get($t, '/api/protected', bearer("$good=")), 'padding', $INVALID,
       'invalid_token');

# forged and refused tokens
my @forged = (
    [ 'alg none, no signature',
      signing_input({ alg => 'none' }, claims()) . '.', qr/malformed token/ ],
    [ 'alg none with a signature',
      hs256({ alg => 'none' }, claims(), $hs_main), qr/algorithm not allowed/ ],
    [ 'alg hs256 in lower case',
      hs256({ alg => 'hs256' }, claims(), $hs_main), qr/algorithm not allowed/ ],
    [ 'alg RS256', hs256({ alg => 'RS256' }, claims(), $hs_main),
      qr/algorithm not allowed/ ],
    [ 'alg missing', hs256({ typ => 'JWT' }, claims(), $hs_main),
      qr/malformed token header/ ],
    [ 'duplicate alg', hs256('{"alg":"HS256","alg":"none"}', claims(), $hs_main),
      qr/malformed token header/ ],
    [ 'crit header', hs256({ %$HS, crit => ['exp'] }, claims(), $hs_main),
      qr/malformed token header/ ],
    [ 'bad signature',
      flip($good, -10),
      qr/invalid signature/ ],
    [ 'other secret', hs256($HS, claims(), 'x' x 64), qr/invalid signature/ ],
    [ 'expired', hs256($HS, claims(exp => $now - 60, iat => $now - 3600), $hs_main),
      qr/token expired/ ],
    [ 'exp missing', hs256($HS, claims(exp => undef), $hs_main),
      qr/token has no exp/ ],
    [ 'exp a string', hs256($HS, claims(exp => "" . ($now + 60)), $hs_main),
      qr/malformed token claims/ ],
    [ 'nbf in the future', hs256($HS, claims(nbf => $now + 120), $hs_main),
      qr/token not yet valid/ ],
    [ 'iat in the future', hs256($HS, claims(iat => $now + 120), $hs_main),
      qr/token issued in the future/ ],
    [ 'wrong iss', hs256($HS, claims(iss => 'someone-else'), $hs_main),
      qr/wrong issuer/ ],
    [ 'iss missing', hs256($HS, claims(iss => undef), $hs_main),
      qr/wrong issuer/ ],
    [ 'wrong aud', hs256($HS, claims(aud => 'other-app'), $hs_main),
      qr/wrong audience/ ],
    [ 'aud array without ours',
      hs256($HS, claims(aud => ['a', 'gonsters-dashboardx']), $hs_main),
      qr/wrong audience/ ],
    [ 'aud missing', hs256($HS, claims(aud => undef), $hs_main),
      qr/wrong audience/ ],
    [ 'refresh token', hs256($HS, claims(type => 'refresh'), $hs_main),
      qr/not an access token/ ],
    [ 'type missing', hs256($HS, claims(type => undef), $hs_main),
      qr/not an access token/ ],
    [ 'sub missing', hs256($HS, claims(sub => undef), $hs_main),
      qr/token has no sub/ ],
    [ 'sub empty', hs256($HS, claims(sub => ''), $hs_main),
      qr/token has no sub/ ],
    [ 'sub a number', hs256($HS, claims(sub => 42), $hs_main),
      qr/malformed token claims/ ],
    [ 'header injection in a claim',
      hs256($HS, claims(username => "x\r\nX-Admin: 1"), $hs_main),
      qr/malformed token claims/ ],
    [ 'payload not JSON', hs256($HS, 'not json', $hs_main),
      qr/malformed token claims/ ],
);

for my $case (@forged) {
    my ($name, $token, $description) = @$case;
    is_401(get($t, '/api/protected', bearer($token)), $name, $INVALID,
           'invalid_token', $description);
}

# within the leeway (30 s by default)
is_ok(get($t, '/api/protected',
          bearer(hs256($HS, claims(exp => $now - 10), $hs_main))),
      'expired 10 s ago, within the leeway');
is_ok(get($t, '/api/protected',
          bearer(hs256($HS, claims(nbf => $now + 10, iat => $now + 10), $hs_main))),
      'nbf and iat 10 s ahead, within the leeway');
is_ok(get($t, '/api/protected',
          bearer(hs256($HS, claims(aud => ['x', 'gonsters-dashboard']), $hs_main))),
      'aud array with ours');
is_ok(get($t, '/api/protected',
          bearer(hs256($HS, claims(username => "j\x{f6}rg", extra => { a => [1] }),
                       $hs_main))),
      'unknown claims and non-ASCII are fine');

# permissions
is_ok(get($t, '/api/config', bearer($good)), 'write:config granted');
my $operator = hs256($HS, claims(role => 'Operator',
                                 permissions => ['read:machines', 'read:sensor_data']),
                     $hs_main);
for my $case (
    [ 'operator on /api/config', '/api/config', $operator, 'write:config' ],
    [ 'operator on /api/machines (two required)', '/api/machines', $operator,
      'write:machines' ],
    [ 'permissions missing', '/api/config',
      hs256($HS, claims(permissions => undef), $hs_main), 'write:config' ],
    [ 'permissions not an array', '/api/config',
      hs256($HS, claims(permissions => 'write:config'), $hs_main), 'write:config' ],
    [ 'permissions with a non-string', '/api/config',
      hs256($HS, claims(permissions => ['write:config', 1]), $hs_main), 'write:config' ],
) {
    my ($name, $path, $token, $perm) = @$case;
    my $res = get($t, $path, bearer($token));
    is($res->{status}, 403, "$name: 403");
    is((json_body($res) || {})->{message},
       "Insufficient permissions. Required: $perm", "$name: names $perm");
    is($res->{headers}{'www-authenticate'},
       qq{Bearer realm="gonsters", error="insufficient_scope", scope="$perm"},
       "$name: insufficient_scope challenge");
}
is_ok(get($t, '/api/protected', bearer($operator)),
      'operator where no permission is required');
is_401(get($t, '/api/config'), 'no token where a permission is required',
       'Missing authorization header');

# cookie
is_ok(get($t, '/api/protected', Cookie => "theme=dark; access_token=$good; x=1"),
      'token from the cookie');
is_401(get($t, '/api/protected', Cookie => "theme=dark"), 'other cookies only',
       'Missing authorization header');
is_401(get($t, '/api/protected', Cookie => "access_token=" . substr($good, 0, -3)),
       'broken token in the cookie', $INVALID, 'invalid_token');
is_401(get($t, '/api/protected', Cookie => "access_token=$good",
           Authorization => 'Basic dXNlcjpwYXNz'),
       'the Authorization header comes first', $FORMAT);

# a CORS preflight is answered by the module without a token, and never
# reaches the upstream; a plain OPTIONS needs a token
my $res = http(OPTIONS => $t->url('/upstream/x'), { headers => {
    Origin => 'https://dashboard.example', 'Access-Control-Request-Method' => 'POST' } });
is($res->{status}, 204, 'CORS preflight answered 204 without a token');
is($res->{content} // '', '', 'the preflight did not reach the upstream');
is_401(http(OPTIONS => $t->url('/upstream/x'),
            { headers => { Origin => 'https://dashboard.example' } }),
       'OPTIONS without Access-Control-Request-Method', 'Missing authorization header');

# claims forwarded upstream
$res = get($t, '/upstream/x', bearer($good));
is($res->{status}, 200, 'proxied with a token');
is($res->{content}, 'uid=d1c2084b-f16a-4eea-89d9-4402095d3af5;user=john.doe;'
   . 'email=john.doe@factory.com;role=Management;factory=factory-A;'
   . 'dept=Operations;jti=6f1c2a9e-0d4b-4c1e-9a53-2b7f8e1d4c60;'
   . 'perms=read:machines,write:machines,read:config,write:config;'
   . "auth=Bearer $good",
   'the claims reach the upstream as headers');
is_401(get($t, '/upstream/x'), 'proxied location without token',
       'Missing authorization header');
$res = get($t, '/upstream-open/x', 'X-User-Id' => 'forged');
is($res->{content} =~ /^uid=;/ ? 1 : 0, 1,
   'variables are empty without authentication (a client header is replaced)');

# gonsters_require_permission without gonsters_auth
my $echo = "http://127.0.0.1:$echo_port";
is_401(http(GET => "$echo/perm-only"), 'required permission alone: no token',
       'Missing authorization header');
is_ok(http(GET => "$echo/perm-only", { headers => { bearer($good) } }),
      'required permission alone: granted');
is_ok(http(GET => "$echo/perm-off"), 'gonsters_auth off wins over a permission');

# satisfy any: the address is enough; without it, nginx's own 401 page
is_ok(get($t, '/any'), 'satisfy any: allowed address without a token');
$res = get($t, '/any-denied');
is($res->{status}, 401, 'satisfy any, address denied: 401');
is($res->{headers}{'www-authenticate'}, 'Bearer realm="gonsters"',
   'satisfy any: the challenge is kept');

# a refused POST with a body leaves the keep-alive connection usable
my $ua = HTTP::Tiny->new(keep_alive => 1, timeout => 10);
my @status = map {
    $ua->request(POST => $t->url('/api/protected'),
                 { content => 'x' x 1000, headers => { bearer('nope') } })->{status}
} 1 .. 3;
push @status, $ua->get($t->url('/api/protected'), { headers => { bearer($good) } })->{status};
is("@status", '401 401 401 200', 'keep-alive after refused requests with bodies');

# a reload reads the keys again; the new workers start with an empty cache
$t->signal('HUP');
sleep 0.5;
is_ok(get($t, '/api/protected', bearer($good)), 'valid token after a reload');
is_401(get($t, '/api/protected', bearer(flip($good, -10))),
       'bad signature after a reload', $INVALID, 'invalid_token');

$t->stop;


# ---------------------------------------------------------------- RS256

$t = Gonsters::Test->new->write_config(<<"CONF");
%%TEST_GLOBALS%%
worker_processes 1;
events { worker_connections 64; }
http {
    %%TEST_GLOBALS_HTTP%%
    gonsters_jwt_algorithm RS256;
    gonsters_jwt_key $keys/rsa1.pub kid=r1;
    gonsters_jwt_key $keys/rsa2.pub kid=r2;
    gonsters_auth_realm "fleet";
    gonsters_jwt_issuer https://auth.example/;
    gonsters_jwt_audience telemetry;

    server {
        listen 127.0.0.1:%%PORT%%;
        location / { gonsters_auth jwt; gonsters_endpoint health; }
    }
}
CONF
$t->run;

my $rc = claims(iss => 'https://auth.example/', aud => 'telemetry');
is_ok(get($t, '/', bearer(signed({ alg => 'RS256', kid => 'r1' }, $rc, 'rsa1'))),
      'RS256 kid r1');
is_ok(get($t, '/', bearer(signed({ alg => 'RS256', kid => 'r2' }, $rc, 'rsa2'))),
      'RS256 kid r2');

sub is_401_fleet {
    my ($res, $name, $description) = @_;
    is($res->{status}, 401, "$name: 401");
    is((json_body($res) || {})->{message}, $INVALID, "$name: message");
    like($res->{headers}{'www-authenticate'} // '',
         qr/^Bearer realm="fleet", error="invalid_token", error_description="[^"]*$description/,
         "$name: challenge");
}

my $pub1 = read_file("$keys/rsa1.pub");
is_401_fleet(get($t, '/', bearer(hs256({ alg => 'HS256', kid => 'r1' }, $rc, $pub1))),
             'HS256 signed with the RS public key', 'algorithm not allowed');
is_401_fleet(get($t, '/', bearer(hs256({ alg => 'RS256', kid => 'r1' }, $rc, $pub1))),
             'RS256 header, HMAC with the public key', 'invalid signature');
is_401_fleet(get($t, '/', bearer(signed({ alg => 'RS256', kid => 'r1' }, $rc, 'rsa2'))),
             'r1 token signed with r2', 'invalid signature');
is_401_fleet(get($t, '/', bearer(signed({ alg => 'RS256' }, $rc, 'rsa1'))),
             'no kid with two keys, both with kid', 'token has no key id');
is_401_fleet(get($t, '/', bearer(signing_input({ alg => 'none', kid => 'r1' }, $rc) . '.')),
             'alg none', 'malformed token');
is_401_fleet(get($t, '/', bearer(signed({ alg => 'RS256', kid => 'r1' }, claims(), 'rsa1'))),
             'default issuer is not the configured one', 'wrong issuer');
is_401_fleet(get($t, '/', bearer(signed({ alg => 'RS256', kid => 'r1' },
                                        claims(iss => 'https://auth.example/'), 'rsa1'))),
             'default audience is not the configured one', 'wrong audience');

$t->stop;


# ---------------------------------------------------------------- ES256

$t = Gonsters::Test->new->write_config(<<"CONF");
%%TEST_GLOBALS%%
worker_processes 1;
events { worker_connections 64; }
http {
    %%TEST_GLOBALS_HTTP%%
    gonsters_jwt_algorithm ES256;
    gonsters_jwt_key $keys/ec1.pub kid=e1;
    gonsters_jwt_leeway 0s;

    server {
        listen 127.0.0.1:%%PORT%%;
        location / { gonsters_auth jwt; gonsters_endpoint health; }
    }
}
CONF
$t->run;

my $es = signed({ alg => 'ES256', kid => 'e1' }, claims(), 'ec1');
is_ok(get($t, '/', bearer($es)), 'ES256 with its kid');
is_ok(get($t, '/', bearer(signed({ alg => 'ES256' }, claims(), 'ec1'))),
      'ES256 without kid: the only key');
my $es_bad = flip($es, -20);
is_401(get($t, '/', bearer($es_bad)), 'ES256 bad signature', $INVALID,
       'invalid_token', qr/invalid signature/);
is_401(get($t, '/', bearer(signed({ alg => 'RS256', kid => 'e1' }, claims(), 'rsa1'))),
       'RS256 token to an ES256 server', $INVALID, 'invalid_token',
       qr/algorithm not allowed/);

# the cache respects exp: no leeway here, a token valid for 2 more seconds
my $ttl = $ENV{GONSTERS_VALGRIND} ? 8 : 2;
my $start = int time;
my $short = signed({ alg => 'ES256' }, claims(exp => $start + $ttl), 'ec1');
is_ok(get($t, '/', bearer($short)), 'short-lived token, first use');
is_ok(get($t, '/', bearer($short)), 'short-lived token from the cache');
sleep(0.1) while time < $start + $ttl + 0.2;
is_401(get($t, '/', bearer($short)), 'short-lived token after exp (cached)',
       $INVALID, 'invalid_token', qr/token expired/);

$t->stop;


# ---------------------------------------------------------------- nginx -t

genkey($keys, 'rsa_small', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024');
genkey($keys, 'ec384', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384');
write_file("$keys/short", "0123456789\n");

my @bad = (
    [ 'unknown algorithm', "gonsters_jwt_algorithm PS256; gonsters_jwt_key $keys/hs_main;",
      qr/invalid value "PS256" in "gonsters_jwt_algorithm" directive, it must be HS256, RS256 or ES256/ ],
    [ 'missing key file', "gonsters_jwt_key $keys/nope;",
      qr/gonsters_jwt_key: open\(\) "\Q$keys\E\/nope" failed \(2: No such file or directory\)/ ],
    [ 'HS secret too short', "gonsters_jwt_key $keys/short;",
      qr/the HS256 secret in "\Q$keys\E\/short" is 10 bytes, at least 32 are required/ ],
    [ 'HS256 with a PEM key', "gonsters_jwt_key $keys/rsa1.pub;",
      qr/is a PEM key, but "gonsters_jwt_algorithm" is HS256/ ],
    [ 'RS key file that is a private key',
      "gonsters_jwt_algorithm RS256; gonsters_jwt_key $keys/rsa1.pem;",
      qr/"\Q$keys\E\/rsa1.pem" is not a PEM public key/ ],
    [ 'RS key file that is a secret',
      "gonsters_jwt_algorithm RS256; gonsters_jwt_key $keys/hs_main;",
      qr/is not a PEM public key/ ],
    [ 'RSA key too short',
      "gonsters_jwt_algorithm RS256; gonsters_jwt_key $keys/rsa_small.pub;",
      qr/is an RSA key shorter than 2048 bits/ ],
    [ 'ES256 with an RSA key',
      "gonsters_jwt_algorithm ES256; gonsters_jwt_key $keys/rsa1.pub;",
      qr/is not an EC public key/ ],
    [ 'ES256 with a P-384 key',
      "gonsters_jwt_algorithm ES256; gonsters_jwt_key $keys/ec384.pub;",
      qr/is not on the P-256 curve/ ],
    [ 'duplicate kid',
      "gonsters_jwt_key $keys/hs_main kid=a; gonsters_jwt_key $keys/hs_k2 kid=a;",
      qr/duplicate kid "a" in "gonsters_jwt_key"/ ],
    [ 'two keys without kid',
      "gonsters_jwt_key $keys/hs_main; gonsters_jwt_key $keys/hs_k2;",
      qr/more than one "gonsters_jwt_key" without kid/ ],
    [ 'bad key parameter', "gonsters_jwt_key $keys/hs_main id=a;",
      qr/invalid parameter "id=a" in "gonsters_jwt_key", expected "kid=ID"/ ],
    [ 'no key', 'gonsters_auth jwt;',
      qr/needs at least one "gonsters_jwt_key" in the http block/ ],
    [ 'permission without key', 'gonsters_require_permission read:machines;',
      qr/needs at least one "gonsters_jwt_key" in the http block/ ],
    [ 'bad gonsters_auth', "gonsters_jwt_key $keys/hs_main; gonsters_auth basic;",
      qr/invalid value "basic" in "gonsters_auth" directive, it must be "jwt" or "off"/ ],
    [ 'bad permission', "gonsters_jwt_key $keys/hs_main; gonsters_require_permission \"a,b\";",
      qr/invalid permission "a,b" in "gonsters_require_permission"/ ],
    [ 'realm with a quote', "gonsters_auth_realm 'a\"b';",
      qr/"gonsters_auth_realm" directive must be printable ASCII without quotes/ ],
    [ 'bad leeway', 'gonsters_jwt_leeway soon;',
      qr/"gonsters_jwt_leeway" directive invalid value/ ],
);

for my $case (@bad) {
    my ($name, $http, $message) = @$case;
    my $n = Gonsters::Test->new->write_config(<<"CONF");
%%TEST_GLOBALS%%
events { }
http {
    %%TEST_GLOBALS_HTTP%%
    $http
    server {
        listen 127.0.0.1:%%PORT%%;
        location / { gonsters_endpoint health; }
    }
}
CONF
    my ($status, $out) = $n->test_config;
    isnt($status, 0, "nginx -t fails: $name");
    like($out, $message, "clear message: $name");
}

my $n = Gonsters::Test->new->write_config(<<"CONF");
%%TEST_GLOBALS%%
events { }
http {
    %%TEST_GLOBALS_HTTP%%
    server {
        listen 127.0.0.1:%%PORT%%;
        location / { gonsters_jwt_key $keys/hs_main; }
    }
}
CONF
my ($status, $out) = $n->test_config;
like($out, qr/"gonsters_jwt_key" directive is not allowed here/,
     'keys belong to the http block');

done_testing;
