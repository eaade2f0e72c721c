package Gonsters::Test;

# A small harness in the style of nginx's own test suite (nginx-tests), with
# core Perl only: every test file gets its own nginx (Debian's binary with our
# module) under a temporary prefix, with a generated configuration, and
# fails when error.log shows an alert, a worker that died on a signal or a
# sanitizer report.  The backing services are the test stack started by
# `make test` (scripts/test.sh); their ports come from the environment.

use strict;
use warnings;

use Exporter qw(import);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Select;
use IO::Socket::INET;
use Digest::SHA qw(hmac_sha256);
use JSON::PP;
use MIME::Base64 qw(encode_base64url);
use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes qw(sleep time);

our @EXPORT_OK = qw(genkey hs256_token openssl read_file write_file child_pids env_or_bail finish_requests free_port http
                    json_body psql resume stall stack_pids start_request
                    time_scale wait_until);

my @instances;

sub env_or_bail {
    my ($name) = @_;
    my $value = $ENV{$name};
    BAIL_OUT("$name is not set: run the tests with `make test`")
        unless defined $value && length $value;
    return $value;
}

# Files of a test: keys, configurations, signatures.
sub write_file {
    my ($path, $text) = @_;
    open my $fh, '>', $path or die "$path: $!";
    print $fh $text;
    close $fh or die "$path: $!";
    return $path;
}

sub read_file {
    my ($path) = @_;
    open my $fh, '<', $path or return '';
    local $/;
    my $text = <$fh>;
    return defined $text ? $text : '';
}

sub openssl {
    my @args = @_;
    system('openssl', @args) == 0 or die "openssl @args failed";
}

# a key pair in DIR: NAME.pem (private) and NAME.pub (public)
sub genkey {
    my ($dir, $name, @opts) = @_;
    openssl('genpkey', '-quiet', @opts, '-out', "$dir/$name.pem");
    openssl('pkey', '-in', "$dir/$name.pem", '-pubout', '-out', "$dir/$name.pub");
}

# an HS256 JWT of the given claims (header {"alg":"HS256","typ":"JWT"}
# unless one is given)
sub hs256_token {
    my ($secret, $claims, $header) = @_;
    my $json = JSON::PP->new->canonical->utf8;
    my $si = encode_base64url($json->encode($header || { alg => 'HS256', typ => 'JWT' }))
           . '.' . encode_base64url($json->encode($claims));
    return "$si." . encode_base64url(hmac_sha256($si, $secret));
}

# Under `make test-valgrind` nginx runs many times slower: bounds on how
# long something may take are multiplied by this.
sub time_scale {
    return $ENV{GONSTERS_VALGRIND} ? 20 : 1;
}

sub free_port {
    my $sock = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                     LocalPort => 0, ReuseAddr => 1)
        or die "no free port: $!";
    my $port = $sock->sockport;
    close $sock;
    return $port;
}

sub wait_until {
    my ($timeout, $cond) = @_;
    my $deadline = time + $timeout;
    while (time < $deadline) {
        return 1 if $cond->();
        sleep 0.05;
    }
    return 0;
}

sub new {
    my ($class) = @_;
    my $self = bless {}, $class;

    $self->{module} = env_or_bail('GONSTERS_MODULE');
    $self->{test_module} = env_or_bail('GONSTERS_TEST_MODULE');
    $self->{prefix} = tempdir('gonsters-t-XXXXXX', TMPDIR => 1,
                              CLEANUP => !$ENV{GONSTERS_TEST_KEEP});
    mkdir "$self->{prefix}/$_" for qw(conf logs tmp);
    $self->{port} = free_port();

    push @instances, $self;
    return $self;
}

sub port   { $_[0]{port} }
sub prefix { $_[0]{prefix} }

# The text of a configuration with the harness's lines filled in:
#   %%TEST_GLOBALS%%       load_module (ours and the test-only module),
#                          pid, error_log, user (as root)
#   %%TEST_GLOBALS_HTTP%%  temp paths and access log inside the prefix
#   %%PORT%%               the port of this instance
#   %%MODULE%%             path of ngx_http_gonsters_module.so
sub expand {
    my ($self, $text) = @_;

    my $user = $> == 0 ? "user root;\n" : '';
    my $globals = "load_module $self->{module};\n"
                . "load_module $self->{test_module};\n$user"
                . "pid logs/nginx.pid;\nerror_log logs/error.log info;\n";
    my $http = join '', map { "${_}_temp_path tmp/$_;\n" }
                            qw(client_body proxy fastcgi uwsgi scgi);
    $http .= "access_log logs/access.log;\n";

    $text =~ s/%%TEST_GLOBALS%%/$globals/g;
    $text =~ s/%%TEST_GLOBALS_HTTP%%/$http/g;
    $text =~ s/%%PORT%%/$self->{port}/g;
    $text =~ s/%%MODULE%%/$self->{module}/g;
    return $text;
}

sub write_config {
    my ($self, $text) = @_;
    open my $fh, '>', "$self->{prefix}/conf/nginx.conf" or die $!;
    print $fh $self->expand($text);
    close $fh;
    return $self;
}

sub nginx_cmd {
    my ($self, @args) = @_;
    my @nginx = ('/usr/sbin/nginx', '-p', "$self->{prefix}/",
                 '-c', 'conf/nginx.conf', '-e', 'logs/error.log', @args);
    return @nginx unless $ENV{GONSTERS_VALGRIND} && !grep { $_ eq '-t' } @args;

    # every process (master and workers) logs to its own file
    return ('valgrind', '-q', '--leak-check=full', '--show-leak-kinds=definite,indirect',
            '--errors-for-leak-kinds=definite,indirect', '--num-callers=30',
            "--suppressions=$ENV{GONSTERS_VALGRIND_SUPP}",
            "--log-file=$self->{prefix}/logs/valgrind.%p.log", @nginx);
}

# nginx -t: returns (exit status, output)
sub test_config {
    my ($self) = @_;
    my @cmd = $self->nginx_cmd('-t');
    my $out = qx{@{[ join ' ', map { quotemeta } @cmd ]} 2>&1};
    return ($? >> 8, $out);
}

sub run {
    my ($self) = @_;

    my @cmd = $self->nginx_cmd();
    system(@cmd) == 0 or die "nginx did not start:\n" . $self->read_log;

    my $pidfile = "$self->{prefix}/logs/nginx.pid";
    wait_until(5 * time_scale(), sub { -s $pidfile })
        or die "nginx wrote no pid file";
    open my $fh, '<', $pidfile or die $!;
    chomp($self->{pid} = <$fh>);
    close $fh;

    wait_until(5 * time_scale(), sub {
        IO::Socket::INET->new(PeerAddr => "127.0.0.1:$self->{port}")
    }) or die "nginx does not listen on $self->{port}";
    return $self;
}

sub signal {
    my ($self, $sig) = @_;
    kill $sig, $self->{pid} if $self->{pid};
}

sub stop {
    my ($self) = @_;
    return unless $self->{pid};
    kill 'QUIT', $self->{pid};
    wait_until(10 * time_scale(), sub { !kill 0, $self->{pid} })
        or do { kill 'KILL', $self->{pid}; fail("nginx stopped on QUIT") };
    delete $self->{pid};
    $self->check_log;
    $self->check_valgrind if $ENV{GONSTERS_VALGRIND};
}

# Under valgrind: no memory error and no leak in any nginx process.
sub check_valgrind {
    my ($self) = @_;
    my @reports;
    for my $file (glob "$self->{prefix}/logs/valgrind.*.log") {
        open my $fh, '<', $file or next;
        my $text = do { local $/; <$fh> };
        push @reports, "$file:\n$text" if $text =~ /\S/;
    }
    ok(!@reports, 'valgrind: no errors and no leaks in nginx')
        or diag(join "\n", @reports);
}

sub read_log {
    my ($self) = @_;
    open my $fh, '<', "$self->{prefix}/logs/error.log" or return '';
    local $/;
    return <$fh>;
}

# What nginx-tests checks at the end of every file.
sub check_log {
    my ($self) = @_;
    my $log = $self->read_log;
    my @bad = grep { /\[alert\]|\[emerg\]|exited on signal|Sanitizer|runtime error/ }
              split /\n/, $log;
    ok(!@bad, 'no alerts, crashes or sanitizer reports in error.log')
        or diag(join "\n", @bad);
}

sub url {
    my ($self, $path) = @_;
    return "http://127.0.0.1:$self->{port}$path";
}

# http($method, $url, {headers => {...}, content => ...}) -> HTTP::Tiny response
sub http {
    my ($method, $url, $opts) = @_;
    return HTTP::Tiny->new(timeout => 10, max_redirect => 0)
                     ->request($method, $url, $opts || {});
}

sub json_body {
    my ($res) = @_;
    my $data = eval { JSON::PP->new->decode($res->{content}) };
    return $data;
}

# Raw requests, many in flight at once, which HTTP::Tiny cannot do:
# start_request() sends one on its own connection (HTTP/1.0, so that the
# answer ends with the connection and is never chunked) and returns it
# as {sock, start, buf}; close its sock to play a client that goes away.
#   start_request($port, $method, $path, headers => [[name, value], ...],
#                 body => $body)
sub start_request {
    my ($port, $method, $path, %opt) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 5)
        or die "connect to $port: $!";
    my $body = $opt{body} // '';
    my $req = "$method $path HTTP/1.0\r\nHost: localhost\r\n";
    $req .= "$_->[0]: $_->[1]\r\n" for @{ $opt{headers} || [] };
    $req .= 'Content-Length: ' . length($body) . "\r\n" if $method eq 'POST';
    binmode $s;
    syswrite $s, "$req\r\n$body";
    return { sock => $s, start => time, buf => '' };
}

# finish_requests($timeout, @reqs): reads the answers until all are
# complete or the timeout passes, and returns @reqs with status (0 for an
# answer not complete by then), headers (names in lower case), body, json
# (the body decoded, or undef), done (the time it completed, or undef) and
# elapsed (until it completed, or until now).
sub finish_requests {
    my ($timeout, @reqs) = @_;
    my %by = map { fileno($_->{sock}) => $_ } @reqs;
    my $sel = IO::Select->new(map { $_->{sock} } @reqs);
    my $deadline = time + $timeout;
    while ($sel->count && time < $deadline) {
        for my $s ($sel->can_read(0.02)) {
            my $r = $by{fileno $s};
            my $n = sysread $s, my $chunk, 65536;
            if ($n) { $r->{buf} .= $chunk; next }
            $r->{done} = time;
            $sel->remove($s);
        }
    }
    parse_answer($_) for @reqs;
    return @reqs;
}

sub parse_answer {
    my ($r) = @_;
    close $r->{sock};
    $r->{elapsed} = ($r->{done} // time) - $r->{start};
    my ($head, $body) = split /\r\n\r\n/, $r->{buf}, 2;
    $head //= '';
    ($r->{status}) = $head =~ m{^HTTP/1\.[01] (\d{3})};
    $r->{status} = 0 unless $r->{done} && defined $r->{status};
    $r->{headers} = { map { /^([^:]+):\s*(.*)$/ ? (lc $1 => $2) : () }
                      split /\r\n/, $head };
    $r->{body} = $body // '';
    $r->{json} = eval { JSON::PP->new->decode($r->{body}) };
}

# psql(sql) against the test stack's PostgreSQL: returns rows of fields;
# dies with psql's message when the statement fails.
sub psql {
    my ($sql) = @_;
    my $port = env_or_bail('GONSTERS_PG_PORT');
    my $err = File::Temp->new;
    open my $saved, '>&', \*STDERR or die $!;
    open STDERR, '>&', $err or die $!;
    my $ok = open my $fh, '-|', 'psql', '-X', '-qAt', '-F', "\t",
        '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', $port,
        '-U', 'gonsters', '-d', 'gonsters', '-c', $sql;
    open STDERR, '>&', $saved or die $!;
    die "psql: $!" unless $ok;
    my @rows = map { chomp; [split /\t/, $_, -1] } <$fh>;
    return @rows if close $fh;
    seek $err, 0, 0;
    die "psql failed: " . do { local $/; <$err> } . "statement: $sql\n";
}

# The processes of a service of the test stack (postgres: the postmaster
# and all its children), from the stack's pid files.
sub stack_pids {
    my ($service) = @_;
    my $run = env_or_bail('GONSTERS_RUN_DIR');
    my $file = $service eq 'postgres' ? "$run/pg/data/postmaster.pid"
                                      : "$run/pids/$service.pid";
    open my $fh, '<', $file or die "$file: $!";
    my $master = <$fh>;
    close $fh;
    chomp $master;
    return ($master) unless $service eq 'postgres';

    return ($master, child_pids($master));
}

# The processes whose parent is $ppid (an nginx master's workers).
sub child_pids {
    my ($ppid) = @_;
    my @pids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = <$fh> // next;
        my ($pid, $parent) = $line =~ /^(\d+) \(.*\) \S+ (\d+)/s or next;
        push @pids, $pid if $parent == $ppid;
    }
    return @pids;
}

# SIGSTOP a service of the test stack; resume() (or the end of the test
# file, whatever happens) sends SIGCONT.
my %stalled;

sub stall {
    my ($service) = @_;
    my @pids = stack_pids($service);
    $stalled{$service} = \@pids;
    kill 'STOP', @pids;
    # a signal takes effect when the process is next scheduled: a thread
    # already running could still answer a request without this wait
    # (a backend that exited meanwhile counts as stopped: gone, or a
    # zombie that the stopped postmaster cannot reap)
    wait_until(2, sub { !grep { process_state($_) !~ /^(T|Z|gone)$/ } @pids })
        or die "$service did not stop";
}

sub process_state {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/stat" or return 'gone';
    my $line = <$fh> // '';
    return $line =~ /^\d+ \(.*\) (\S)/s ? $1 : '?';
}

sub resume {
    my ($service) = @_;
    my $pids = delete $stalled{$service} or return;
    kill 'CONT', @$pids;
}

# END blocks run last-defined first, so the test file's own END cleanups
# (psql ...) would run before this module's and could wait forever on a
# store a dying test left stopped.  An END compiled once the test file is
# compiled runs before them all.
sub resume_all { resume($_) for keys %stalled }

INIT {
    eval 'END { Gonsters::Test::resume_all() } 1' or die $@;
}

# A test file that died before stop(): leave no nginx behind.
END {
    resume($_) for keys %stalled;
    for my $t (grep { $_->{pid} } @instances) {
        kill 'QUIT', $t->{pid};
        wait_until(10, sub { !kill 0, $t->{pid} }) or kill 'KILL', $t->{pid};
    }
}

1;
