#!/usr/bin/perl
# Asymmetric issuing and the JWKS document: "gonsters_jwt_signing_key" with
# RS256 and with ES256 (keys made with the openssl command line in a
# temporary directory).  Login returns tokens with the configured alg and
# kid that the same nginx accepts on a "gonsters_auth jwt" location, and
# whose signatures openssl verifies with the public key; refresh rotates
# with the same key; "gonsters_endpoint jwks" publishes the public keys
# (n/e, x/y equal to what openssl reports) and never an HS256 secret; and
# nginx -t refuses a signing key of the wrong type, without a public key
# of the same kid, of another pair, or unreadable.

use strict;
use warnings;
use lib 't/lib';

use File::Temp qw(tempdir);
use JSON::PP;
use MIME::Base64 qw(decode_base64url encode_base64url);
use Test::More;
use Gonsters::Test qw(env_or_bail genkey http json_body openssl psql read_file write_file);

my $dsn = env_or_bail('GONSTERS_PG_DSN');
env_or_bail('GONSTERS_PG_PORT');

my $p = "tk$$";
my $pw = 'Password123!';
# the seed's Operator hash (sql/demo/010_users.sql)
my $hash = '$2b$12$m9iA60jeR5AuatBCV9UPUel/MwmdXhsfzddLdaA54QcaTtXKtj3fu';

sub cleanup {
    eval {
        psql("DELETE FROM audit_logs WHERE username LIKE '${p}%'");
        psql("DELETE FROM users WHERE username LIKE '${p}%'");
    };
}
END { cleanup() }
cleanup();

psql("INSERT INTO users (username, email, password_hash, role, factory_id, department, is_active) "
   . "VALUES ('${p}_op', '${p}_op\@test.example', '$hash', 'Operator', 'factory-A', 'Production', true)");

my $keys = tempdir('gonsters-jwks-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $json = JSON::PP->new->canonical->utf8;





genkey($keys, 'rsa', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048');
genkey($keys, 'rsa_old', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:3072');
genkey($keys, 'ec', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256');
genkey($keys, 'ec_old', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256');
write_file("$keys/hs", 'f00d' x 16);

sub part {
    my ($token, $i) = @_;
    my @p = split /\./, $token // '';
    return eval { $json->decode(decode_base64url($p[$i] // '')) } || {};
}

# raw R || S -> DER ECDSA-Sig-Value, for openssl dgst -verify
sub raw_to_der {
    my ($raw) = @_;
    my $der = '';
    for my $at (0, 32) {
        my $v = substr($raw, $at, 32);       # a copy, not an lvalue
        $v =~ s/^\x00+//;
        $v = "\x00$v" if !length $v || ord($v) & 0x80;
        $der .= "\x02" . chr(length $v) . $v;
    }
    return "\x30" . chr(length $der) . $der;
}

# the token's signature checked by openssl with a public key file
sub openssl_verifies {
    my ($token, $pub, $ec) = @_;
    my ($h, $c, $s) = split /\./, $token;
    my $sig = decode_base64url($s);
    $sig = raw_to_der($sig) if $ec;
    write_file("$keys/si", "$h.$c");
    write_file("$keys/sig", $sig);
    my $out = qx{openssl dgst -sha256 -verify \Q$pub\E -signature \Q$keys/sig\E \Q$keys/si\E 2>&1};
    return $? == 0 && $out =~ /Verified OK/;
}

sub hex_of { return uc unpack 'H*', decode_base64url($_[0] // '') }

# what openssl says of a public key: (n, e) or (x, y), upper-case hex
sub rsa_numbers {
    my ($pub) = @_;
    my $mod = qx{openssl rsa -pubin -in \Q$pub\E -noout -modulus};
    my ($n) = $mod =~ /Modulus=([0-9A-F]+)/;
    my $text = qx{openssl rsa -pubin -in \Q$pub\E -noout -text};
    my ($e) = $text =~ /Exponent: (\d+)/;
    return ($n, $e);
}

sub ec_numbers {
    my ($pub) = @_;
    my $text = qx{openssl ec -pubin -in \Q$pub\E -noout -text 2>/dev/null};
    my ($hex) = $text =~ /pub:\s*((?:[0-9a-f]{2}:?\s*)+)/;
    $hex =~ s/[:\s]//g;
    $hex = uc $hex;
    die "not an uncompressed point" unless $hex =~ s/^04//;
    return (substr($hex, 0, 64), substr($hex, 64, 64));
}

sub conf {
    my ($http) = @_;
    return <<"CONF";
%%TEST_GLOBALS%%
worker_processes 1;
thread_pool default threads=4;
events { worker_connections 64; }
http {
    %%TEST_GLOBALS_HTTP%%
    gonsters_postgres "$dsn application_name=auth_jwks";
    gonsters_password_hash bcrypt 4;
    $http
    server {
        listen 127.0.0.1:%%PORT%%;
        location = /api/v1/auth/login   { gonsters_endpoint login; }
        location = /api/v1/auth/refresh { gonsters_endpoint refresh; }
        location = /api/v1/auth/me      { gonsters_auth jwt; gonsters_endpoint me; }
        location = /protected           { gonsters_auth jwt; gonsters_endpoint me; }
        location = /.well-known/jwks.json { gonsters_endpoint jwks; }
    }
}
CONF
}

sub post {
    my ($t, $path, $body) = @_;
    return http(POST => $t->url($path), {
        headers => { 'Content-Type' => 'application/json' },
        content => $json->encode($body) });
}

sub bearer { return { headers => { Authorization => "Bearer $_[0]" } } }


for my $case ([ 'RS256', 'rsa', 'rs-2026' ], [ 'ES256', 'ec', 'es/2026"a' ]) {
    my ($alg, $k, $kid) = @$case;
    my $ec = $alg eq 'ES256';

    my $t = Gonsters::Test->new->write_config(conf(<<"HTTP"));
    gonsters_jwt_algorithm $alg;
    gonsters_jwt_key $keys/${k}_old.pub kid=old;
    gonsters_jwt_key $keys/$k.pub kid=$kid;
    gonsters_jwt_signing_key $keys/$k.pem kid=$kid;
HTTP
    $t->run;

    # ---- login: the token is signed with the private key, kid in the header

    my $res = post($t, '/api/v1/auth/login', { username => "${p}_op", password => $pw });
    is($res->{status}, 200, "$alg: login") or diag($res->{content});
    my $b = json_body($res) || {};
    my ($access, $refresh) = @$b{qw(access_token refresh_token)};

    is_deeply(part($access, 0), { alg => $alg, typ => 'JWT', kid => $kid },
              "$alg: access token header names alg and kid");
    is(part($refresh, 0)->{alg}, $alg, "$alg: refresh token signed with $alg too");
    is(part($access, 1)->{type}, 'access', "$alg: access token claims");
    is(length decode_base64url((split /\./, $access)[2]), $ec ? 64 : 256,
       $ec ? 'ES256: raw 64-byte r||s signature' : 'RS256: 2048-bit signature');
    ok(openssl_verifies($access, "$keys/$k.pub", $ec),
       "$alg: openssl verifies the access token with the public key");
    ok(!openssl_verifies($access, "$keys/${k}_old.pub", $ec),
       "$alg: and not with the other key");

    $res = http(GET => $t->url('/protected'), bearer($access));
    is($res->{status}, 200, "$alg: the same nginx accepts the token");
    is((json_body($res) || {})->{user}{username}, "${p}_op", "$alg: claims from the token");
    is(http(GET => $t->url('/protected'))->{status}, 401, "$alg: and without a token 401");
    $res = http(GET => $t->url('/api/v1/auth/me'), bearer($access));
    is($res->{status}, 200, "$alg: /me with the token");
    is((json_body($res) || {})->{user}{username}, "${p}_op", "$alg: /me user");

    # ---- refresh: verified with the public key of its kid, rotated

    $res = post($t, '/api/v1/auth/refresh', { refresh_token => $refresh });
    is($res->{status}, 200, "$alg: refresh") or diag($res->{content});
    $b = json_body($res) || {};
    isnt($b->{refresh_token}, $refresh, "$alg: a new refresh token");
    is(part($b->{access_token}, 0)->{kid}, $kid, "$alg: refreshed token has the kid");
    $res = http(GET => $t->url('/protected'), bearer($b->{access_token}));
    is($res->{status}, 200, "$alg: the refreshed access token is accepted");

    my ($h, $c, $s) = split /\./, $b->{refresh_token};
    my $sig = decode_base64url($s);
    substr($sig, 10, 1) = chr(ord(substr($sig, 10, 1)) ^ 1);
    $res = post($t, '/api/v1/auth/refresh', { refresh_token => "$h.$c." . encode_base64url($sig) });
    is($res->{status}, 401, "$alg: refresh token with a bad signature: 401");

    my $hs = encode_base64url($json->encode({ alg => 'HS256', typ => 'JWT', kid => $kid }));
    $res = post($t, '/api/v1/auth/refresh', { refresh_token => "$hs.$c.$s" });
    is($res->{status}, 401, "$alg: refresh token claiming HS256: 401");

    $res = post($t, '/api/v1/auth/refresh', { refresh_token => $b->{refresh_token} });
    is($res->{status}, 200, "$alg: the rotated refresh token works");

    # ---- the JWKS document

    $res = http(GET => $t->url('/.well-known/jwks.json'));
    is($res->{status}, 200, "$alg: JWKS 200");
    like($res->{headers}{'content-type'}, qr{^application/json}, "$alg: JWKS is JSON");
    unlike($res->{content}, qr/=/, "$alg: base64url without padding");
    my $set = json_body($res) || {};
    is_deeply([sort keys %$set], ['keys'], "$alg: one member, keys");
    my %jwk = map { ($_->{kid} // '') => $_ } @{ $set->{keys} || [] };
    is_deeply([sort keys %jwk], [sort 'old', $kid], "$alg: every public key, by kid");

    for my $id ($kid, 'old') {
        my $j = $jwk{$id} || {};
        my $pub = $id eq 'old' ? "$keys/${k}_old.pub" : "$keys/$k.pub";
        if ($ec) {
            is_deeply([sort keys %$j], [qw(alg crv kid kty use x y)], "ES256 $id: members");
            is_deeply([@$j{qw(kty crv alg use)}], [qw(EC P-256 ES256 sig)], "ES256 $id: kty crv alg use");
            is(length decode_base64url($j->{x}), 32, "ES256 $id: x is 32 bytes");
            is(length decode_base64url($j->{y}), 32, "ES256 $id: y is 32 bytes");
            is_deeply([hex_of($j->{x}), hex_of($j->{y})], [ec_numbers($pub)],
                      "ES256 $id: x and y are the public key's");
        } else {
            is_deeply([sort keys %$j], [qw(alg e kid kty n use)], "RS256 $id: members");
            is_deeply([@$j{qw(kty alg use)}], [qw(RSA RS256 sig)], "RS256 $id: kty alg use");
            my ($n, $e) = rsa_numbers($pub);
            is(hex_of($j->{n}), $n, "RS256 $id: n is the modulus");
            is(hex(hex_of($j->{e})), $e, "RS256 $id: e is the exponent");
            is($j->{e}, 'AQAB', 'RS256: e of 65537');
        }
    }

    $res = http(HEAD => $t->url('/.well-known/jwks.json'));
    is($res->{status}, 200, "$alg: JWKS HEAD");
    is($res->{content} // '', '', "$alg: HEAD has no body");
    $res = http(POST => $t->url('/.well-known/jwks.json'), { content => '{}' });
    is($res->{status}, 405, "$alg: JWKS POST: 405");
    is($res->{headers}{allow}, 'GET, HEAD', "$alg: Allow");

    $t->stop;
}


# ---- HS256: issuing unchanged, the secret is never published ---------------

{
    my $t = Gonsters::Test->new->write_config(conf("gonsters_jwt_key $keys/hs kid=h1;"));
    $t->run;
    my $res = post($t, '/api/v1/auth/login', { username => "${p}_op", password => $pw });
    is($res->{status}, 200, 'HS256: login');
    my $access = (json_body($res) || {})->{access_token};
    is_deeply(part($access, 0), { alg => 'HS256', typ => 'JWT', kid => 'h1' }, 'HS256: header as before');
    is(http(GET => $t->url('/protected'), bearer($access))->{status}, 200, 'HS256: token accepted');
    $res = http(GET => $t->url('/.well-known/jwks.json'));
    is($res->{status}, 200, 'HS256: JWKS 200');
    is($res->{content}, '{"keys":[]}', 'HS256: an empty key set');
    $t->stop;
}


# ---- nginx -t ------------------------------------------------------------

write_file("$keys/garbage.pem", "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n");
mkdir "$keys/dir";

my @bad = (
    [ 'RS256 with an EC signing key',
      "gonsters_jwt_algorithm RS256; gonsters_jwt_key $keys/rsa.pub kid=a; gonsters_jwt_signing_key $keys/ec.pem kid=a;",
      qr/gonsters_jwt_signing_key: "\Q$keys\E\/ec.pem" is not an RSA private key, as RS256 needs/ ],
    [ 'ES256 with an RSA signing key',
      "gonsters_jwt_algorithm ES256; gonsters_jwt_key $keys/ec.pub kid=a; gonsters_jwt_signing_key $keys/rsa.pem kid=a;",
      qr/"\Q$keys\E\/rsa.pem" is not an EC private key, as ES256 needs/ ],
    [ 'HS256 with a signing key',
      "gonsters_jwt_key $keys/hs kid=a; gonsters_jwt_signing_key $keys/rsa.pem kid=a;",
      qr/"gonsters_jwt_signing_key" needs "gonsters_jwt_algorithm RS256" or "ES256"/ ],
    [ 'no public key with the kid',
      "gonsters_jwt_algorithm RS256; gonsters_jwt_key $keys/rsa.pub kid=a; gonsters_jwt_signing_key $keys/rsa.pem kid=b;",
      qr/no "gonsters_jwt_key \.\.\. kid=b": the public key of the signing key must be configured with the same kid/ ],
    [ 'no public key at all',
      "gonsters_jwt_algorithm ES256; gonsters_jwt_signing_key $keys/ec.pem kid=b;",
      qr/no "gonsters_jwt_key \.\.\. kid=b"/ ],
    [ 'public key of another pair',
      "gonsters_jwt_algorithm RS256; gonsters_jwt_key $keys/rsa_old.pub kid=a; gonsters_jwt_signing_key $keys/rsa.pem kid=a;",
      qr/"\Q$keys\E\/rsa.pem" is not the private key of "\Q$keys\E\/rsa_old.pub"/ ],
    [ 'missing file',
      "gonsters_jwt_algorithm RS256; gonsters_jwt_key $keys/rsa.pub kid=a; gonsters_jwt_signing_key $keys/nope kid=a;",
      qr/gonsters_jwt_signing_key: open\(\) "\Q$keys\E\/nope" failed \(2: No such file or directory\)/ ],
    [ 'unreadable file (a directory)',
      "gonsters_jwt_algorithm RS256; gonsters_jwt_key $keys/rsa.pub kid=a; gonsters_jwt_signing_key $keys/dir kid=a;",
      qr/gonsters_jwt_signing_key: cannot read "\Q$keys\E\/dir"/ ],
    [ 'a public key as signing key',
      "gonsters_jwt_algorithm RS256; gonsters_jwt_key $keys/rsa.pub kid=a; gonsters_jwt_signing_key $keys/rsa.pub kid=a;",
      qr/"\Q$keys\E\/rsa.pub" is not an unencrypted PEM private key for RS256/ ],
    [ 'not a key',
      "gonsters_jwt_algorithm RS256; gonsters_jwt_key $keys/rsa.pub kid=a; gonsters_jwt_signing_key $keys/garbage.pem kid=a;",
      qr/is not an unencrypted PEM private key/ ],
    [ 'no kid',
      "gonsters_jwt_algorithm RS256; gonsters_jwt_key $keys/rsa.pub kid=a; gonsters_jwt_signing_key $keys/rsa.pem;",
      qr/invalid number of arguments in "gonsters_jwt_signing_key" directive/ ],
    [ 'bad kid parameter',
      "gonsters_jwt_algorithm RS256; gonsters_jwt_key $keys/rsa.pub kid=a; gonsters_jwt_signing_key $keys/rsa.pem id=a;",
      qr/invalid parameter "id=a" in "gonsters_jwt_signing_key", expected "kid=ID"/ ],
    [ 'duplicate',
      "gonsters_jwt_algorithm RS256; gonsters_jwt_key $keys/rsa.pub kid=a; gonsters_jwt_signing_key $keys/rsa.pem kid=a; gonsters_jwt_signing_key $keys/rsa.pem kid=a;",
      qr/"gonsters_jwt_signing_key" directive is duplicate/ ],
);

my ($rsa_secret) = read_file("$keys/rsa.pem") =~ /^([A-Za-z0-9+\/]{40,})$/m;
my ($ec_secret) = read_file("$keys/ec.pem") =~ /^([A-Za-z0-9+\/]{40,})$/m;

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
        location / { gonsters_endpoint jwks; }
    }
}
CONF
    my ($status, $out) = $n->test_config;
    isnt($status, 0, "nginx -t fails: $name");
    like($out, $message, "clear message: $name");
    ok(index($out, $rsa_secret) < 0 && index($out, $ec_secret) < 0,
       "$name: no private key material in the output");
}

my $n = Gonsters::Test->new->write_config(<<"CONF");
%%TEST_GLOBALS%%
events { }
http {
    %%TEST_GLOBALS_HTTP%%
    server {
        listen 127.0.0.1:%%PORT%%;
        location / { gonsters_jwt_signing_key $keys/rsa.pem kid=a; }
    }
}
CONF
my ($status, $out) = $n->test_config;
like($out, qr/"gonsters_jwt_signing_key" directive is not allowed here/,
     'the signing key belongs to the http block');

done_testing;
