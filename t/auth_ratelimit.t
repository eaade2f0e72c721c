#!/usr/bin/perl
# limit_req keyed by the user id of the token: the key is computed in the
# preaccess phase, before the access handler, so $gonsters_user_id checks
# the token itself there.

use strict;
use warnings;
use lib 't/lib';

use Test::More;
use Gonsters::Test qw(hs256_token http json_body);

my $t = Gonsters::Test->new;
my $secret = 's' x 40;
my $key = $t->prefix . '/jwt_secret';
open my $fh, '>', $key or die $!;
print $fh $secret;
close $fh;

$t->write_config(<<"CONF");
%%TEST_GLOBALS%%
worker_processes 1;
events { worker_connections 64; }
http {
    %%TEST_GLOBALS_HTTP%%
    gonsters_jwt_key $key;

    limit_req_zone \$gonsters_user_id zone=per_user:1m rate=1r/m;
    limit_req_status 429;

    server {
        listen 127.0.0.1:%%PORT%%;

        location = /ingest {
            limit_req zone=per_user burst=2 nodelay;
            gonsters_auth jwt;
            gonsters_endpoint health;
        }

        location = /open {
            limit_req zone=per_user burst=2 nodelay;
            gonsters_endpoint health;
        }
    }
}
CONF
$t->run;

sub token {
    my ($sub, %extra) = @_;
    my $now = time;
    return hs256_token($secret, {
        sub => $sub, username => "u-$sub", role => 'Operator',
        permissions => ['write:sensor_data'], iat => $now, exp => $now + 600,
        iss => 'gonsters-backend-api', aud => 'gonsters-dashboard',
        jti => "jti-$sub-$$", type => 'access', %extra });
}

sub get {
    my ($path, $token) = @_;
    return http(GET => $t->url($path),
                { headers => $token ? { Authorization => "Bearer $token" } : {} });
}

my ($alice, $bob) = (token('alice'), token('bob'));

# rate 1r/m with a burst of 2: three requests pass, the fourth is limited
my @codes = map { get('/ingest', $alice)->{status} } 1 .. 4;
is_deeply(\@codes, [200, 200, 200, 429], 'the fourth request of one user is limited');

is(get('/ingest', $bob)->{status}, 200, 'another user has a budget of their own');

# the key comes from a token that verifies, never from one that does not
my $forged = token('bob');
$forged =~ s/.{4}$/AAAA/;
is(get('/ingest', $forged)->{status}, 401, 'a forged token is refused');
is(get('/ingest', $bob)->{status}, 200, '... and spent nothing of bob\'s budget');

# no token: no key, no limit; the access phase answers
is(get('/ingest')->{status}, 401, 'no token: 401, not 429') for 1 .. 4;

# a location without gonsters_auth never reads the token
is(get('/open', $alice)->{status}, 200, 'without gonsters_auth the variable is empty')
    for 1 .. 4;

$t->stop;
done_testing;
