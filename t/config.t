#!/usr/bin/perl
# Configuration checks: `nginx -t` accepts good configurations, including
# nginx.conf.example, and refuses bad directive values with clear messages.

use strict;
use warnings;
use lib 't/lib';

use Test::More;
use Gonsters::Test;

sub config_with {
    my ($http, $location) = @_;
    return <<"CONF";
%%TEST_GLOBALS%%
events { }
http {
    %%TEST_GLOBALS_HTTP%%
    $http
    server {
        listen 127.0.0.1:%%PORT%%;
        location / { $location }
    }
}
CONF
}

my @bad = (
    [ 'unknown endpoint', '', 'gonsters_endpoint bogus;',
      qr/invalid value "bogus" in "gonsters_endpoint" directive, it must be one of: health/ ],
    [ 'missing argument', '', 'gonsters_endpoint;',
      qr/invalid number of arguments in "gonsters_endpoint" directive/ ],
    [ 'two arguments', '', 'gonsters_endpoint health health;',
      qr/invalid number of arguments in "gonsters_endpoint" directive/ ],
    [ 'wrong context', 'gonsters_endpoint health;', '',
      qr/"gonsters_endpoint" directive is not allowed here/ ],
    [ 'duplicate', '', 'gonsters_endpoint health; gonsters_endpoint health;',
      qr/"gonsters_endpoint" directive is duplicate/ ],
    [ 'empty value', '', 'gonsters_endpoint "";',
      qr/invalid value "" in "gonsters_endpoint" directive, it must be one of: health/ ],
    [ 'ingest: more machines than one lookup takes', '', 'gonsters_ingest_max_machines 1001;',
      qr/"gonsters_ingest_max_machines" must be between 1 and 1000/ ],
    [ 'ingest: no readings', '', 'gonsters_ingest_max_readings 0;',
      qr/"gonsters_ingest_max_readings" must be between 1 and/ ],
    [ 'ingest: depth below a valid body', '', 'gonsters_ingest_max_depth 4;',
      qr/"gonsters_ingest_max_depth" must be between 5 and 64/ ],
    [ 'ingest: empty body limit', '', 'gonsters_ingest_max_body_size 0;',
      qr/"gonsters_ingest_max_body_size" must not be 0/ ],
    [ 'tier settle in a location', '', 'gonsters_tier_settle 1m;',
      qr/"gonsters_tier_settle" directive is not allowed here/ ],
);

for my $case (@bad) {
    my ($name, $http, $location, $message) = @$case;
    my $t = Gonsters::Test->new->write_config(config_with($http, $location));
    my ($rc, $out) = $t->test_config;
    isnt($rc, 0, "nginx -t fails: $name");
    like($out, $message, "clear message: $name");
}

my $t = Gonsters::Test->new->write_config(
    config_with('', 'gonsters_endpoint health;'));
my ($rc, $out) = $t->test_config;
is($rc, 0, 'a valid configuration passes nginx -t') or diag($out);

# nginx.conf.example and the Docker image's configuration stay valid: their
# load_module, global paths and listen addresses are pointed at this build
# and a temporary prefix.
for my $file ('nginx.conf.example', 'docker/nginx.conf') {
    open my $fh, '<', $file or die "$file: $!";
    my $conf = do { local $/; <$fh> };
    close $fh;
    ok($conf =~ s{^\s*load_module\s+\S+;}{%%TEST_GLOBALS%%}m,
       "$file loads the module");
    $conf =~ s{^\s*(pid|error_log|user)\s[^;]*;}{}mg;
    $conf =~ s{^(\s*)access_log\s+[^;\s]+(\s[^;]*)?;}{$1 . 'access_log logs/access.log' . ($2 // '') . ';'}mge;
    $conf =~ s{^(\s*)gonsters_event_log\s+(?!off)\S+}{$1gonsters_event_log logs/events.log}mg;
    $conf =~ s{^(\s*)(\w+_temp_path)\s[^;]*;}{}mg;
    $conf =~ s{^(\s*http\s*\{)}{$1\n%%TEST_GLOBALS_HTTP%%}m;
    $conf =~ s{listen\s+[^;]+;}{listen 127.0.0.1:%%PORT%%;}g;
    $t = Gonsters::Test->new;
    my $secret = $t->prefix . '/jwt_secret';
    open my $sf, '>', $secret or die $!;
    print $sf 'x' x 48;
    close $sf;
    $conf =~ s{(gonsters_jwt_key)\s+\S+;}{$1 $secret;}g;
    $t->write_config($conf);
    ($rc, $out) = $t->test_config;
    is($rc, 0, "$file passes nginx -t") or diag($out);
    next unless $file eq 'nginx.conf.example';

    # the JSON access log: escaped, and carrying the request id that the
    # event log and the audit rows carry too
    like($conf, qr/log_format\s+gonsters_json\s+escape=json\s/, "$file: a JSON access log format");
    like($conf, qr/log_format\s+gonsters_json[^;]*"request_id":"\$request_id"/s,
         "$file: the access log has \$request_id");
    like($conf, qr/^\s*access_log\s+\S+\s+gonsters_json;/m, "$file: the access log uses it");
    like($conf, qr/^\s*gonsters_event_log\s+\S+/m, "$file: an event log");
}

done_testing;
