package Gonsters::Redis;

# The test stack's Redis, directly: RESP commands on a fresh connection, and
# killing and restarting it the way scripts/stack.sh starts it.  Whatever
# happens, a test file that uses this leaves Redis running (END).

use strict;
use warnings;

use Exporter 'import';
use IO::Socket::INET;
use POSIX qw(setsid);
use Gonsters::Test qw(env_or_bail wait_until);

our @EXPORT_OK = qw(resp redis_kill redis_start);

my $main_pid = $$;
my $down = 0;

sub run_dir { env_or_bail('GONSTERS_RUN_DIR') }
sub port    { env_or_bail('GONSTERS_REDIS_PORT') }

sub redis_pid {
    open my $fh, '<', run_dir() . '/pids/redis.pid' or die "no redis pid file: $!";
    chomp(my $pid = <$fh>);
    return $pid;
}

sub resp_encode {
    my $out = '*' . @_ . "\r\n";
    $out .= '$' . length($_) . "\r\n$_\r\n" for @_;
    return $out;
}

sub resp_read {
    my ($s) = @_;
    my $line = <$s>;
    return undef unless defined $line;
    $line =~ s/\r\n\z//;
    my ($type, $rest) = (substr($line, 0, 1), substr($line, 1));
    return $rest if $type eq '+';
    return "ERR:$rest" if $type eq '-';
    return 0 + $rest if $type eq ':';
    if ($type eq '$') {
        return undef if $rest < 0;
        my $buf = '';
        while (length $buf < $rest + 2) {
            read($s, $buf, $rest + 2 - length $buf, length $buf) or last;
        }
        return substr($buf, 0, $rest);
    }
    return [map { resp_read($s) } 1 .. $rest] if $type eq '*';
    die "unexpected RESP line: $line";
}

# resp('GET', $key): one command on a fresh connection, or several
# pipelined (resp([args], [args])): the last reply; undef when Redis cannot
# be reached
sub resp {
    my @cmds = ref $_[0] ? @_ : ([@_]);
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . port(), Timeout => 2)
        or return undef;
    binmode $s;
    print $s join '', map { resp_encode(@$_) } @cmds;
    my @replies = map { resp_read($s) } @cmds;
    close $s;
    return $replies[-1];
}

sub redis_kill {
    my $pid = redis_pid();
    Gonsters::Test::resume('redis');
    $down = 1;
    kill 'TERM', $pid;
    wait_until(10, sub { !kill 0, $pid }) or die "redis $pid does not stop";
}

# the command of scripts/stack.sh start_redis; the stack can stop it again
sub redis_start {
    my $run = run_dir();
    my $child = fork // die "fork: $!";
    if ($child == 0) {
        setsid();
        my $pid = fork // POSIX::_exit(1);
        if ($pid == 0) {
            open STDIN, '<', '/dev/null';
            open STDOUT, '>>', "$run/redis/redis.log";
            open STDERR, '>&', \*STDOUT;
            exec 'redis-server', '--port', port(), '--bind', '127.0.0.1',
                 '--dir', "$run/redis", '--save', '', '--appendonly', 'no',
                 '--daemonize', 'no', '--logfile', ''
                or POSIX::_exit(127);
        }
        open my $fh, '>', "$run/pids/redis.pid" or POSIX::_exit(1);
        print $fh "$pid\n";
        close $fh;
        POSIX::_exit(0);
    }
    waitpid $child, 0;
    wait_until(10, sub { (resp('PING') // '') eq 'PONG' })
        or die "redis did not restart";
    $down = 0;
}

END {
    redis_start() if $down && $$ == $main_pid;
}

1;
