#!/usr/bin/perl
# GET /health of the module: JSON, methods, and the stack's own nginx.

use strict;
use warnings;
use lib 't/lib';

use HTTP::Tiny;
use Test::More;
use Gonsters::Test qw(env_or_bail http json_body);

my $t = Gonsters::Test->new->write_config(<<'CONF');
%%TEST_GLOBALS%%
worker_processes 1;
events { worker_connections 64; }
http {
    %%TEST_GLOBALS_HTTP%%
    server {
        listen 127.0.0.1:%%PORT%%;
        location = /health { gonsters_endpoint health; }
        location /other { return 204; }
    }
}
CONF
$t->run;

my $res = http(GET => $t->url('/health'));
is($res->{status}, 200, 'GET /health is 200');
like($res->{headers}{'content-type'}, qr{^application/json}, 'JSON content type');
my $body = json_body($res);
is(ref $body, 'HASH', 'body is a JSON object');
is($body->{status}, 'healthy', 'status healthy');
is($res->{headers}{'content-length'}, length $res->{content},
   'content length matches the body');

$res = http(HEAD => $t->url('/health'));
is($res->{status}, 200, 'HEAD /health is 200');
is($res->{content} // '', '', 'HEAD has no body');

for my $method (qw(POST PUT DELETE PATCH)) {
    $res = http($method => $t->url('/health'), { content => '{"x":1}' });
    is($res->{status}, 405, "$method /health is 405");
    is($res->{headers}{allow}, 'GET, HEAD', "$method answer names the allowed methods");
    my $err = json_body($res);
    is($err && $err->{status}, 'error', "$method error is JSON");
    is($err && $err->{message}, 'Method not allowed', "$method error message");
}

$res = http(GET => $t->url('/health?x=1'));
is($res->{status}, 200, 'query string is ignored');

$res = http(GET => $t->url('/other'));
is($res->{status}, 204, 'locations without the module are untouched');

# keep-alive: many requests on one connection
my $ua = HTTP::Tiny->new(keep_alive => 1);
my $ok = grep { $ua->get($t->url('/health'))->{status} == 200 } 1 .. 200;
is($ok, 200, '200 requests on a keep-alive connection');

$t->stop;

# the stack started by make test serves /health as well
my $port = env_or_bail('GONSTERS_NGINX_PORT');
$res = http(GET => "http://127.0.0.1:$port/health");
is($res->{status}, 200, 'stack nginx answers /health');
is((json_body($res) || {})->{status}, 'healthy', 'stack nginx is healthy');

done_testing;
