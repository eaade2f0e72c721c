package Gonsters::Worker;

# Helpers of the worker's integration tests (t/worker_*.t): private
# workers (own client id, share group, spool and InfluxDB database, so that
# the stack's own worker never takes part), test machines, publishing with
# mosquitto_pub, InfluxDB counts.  Core Perl only.

use strict;
use warnings;

use Exporter qw(import);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use JSON::PP;
use POSIX qw(WNOHANG strftime);
use Test::More;
use Time::HiRes qw(sleep time);

use Gonsters::Test qw(env_or_bail psql read_file wait_until write_file);

our @EXPORT_OK = qw(new_machine influx_count influx_query iso_ms publish_lines
                    publish_one metric log_records factory_column);

my $json = JSON::PP->new->utf8->canonical;
my $counter = 0;

sub state_counter { $counter++ }

# ---- workers ---------------------------------------------------------------

sub new {
    my ($class, %opt) = @_;
    my $self = bless {}, $class;
    $self->{bin} = env_or_bail('GONSTERS_WORKER_BIN');
    $self->{dir} = $opt{dir}
        || tempdir('gonsters-wt-XXXXXX', TMPDIR => 1,
                   CLEANUP => !$ENV{GONSTERS_TEST_KEEP});
    state_counter();
    $self->{id} = $opt{id}
        || "t-w-$$-" . int(time * 1000) % 1000000 . '-' . $counter;
    my $mqtt = env_or_bail('GONSTERS_MQTT_PORT');
    my $pg = env_or_bail('GONSTERS_PG_PORT');
    my $influx = env_or_bail('GONSTERS_INFLUX_PORT');
    $self->{db} = $opt{influx_db} || "t_worker_$$";
    setup_influx_db($self->{db}) unless $opt{no_db_setup};
    my %kv = (
        mqtt_uri              => "tcp://127.0.0.1:$mqtt",
        client_id             => $self->{id},
        share_group           => $opt{group} || "t-$$",
        session_expiry        => 120,
        keepalive             => 10,
        connect_retry_max     => 1,
        log_level             => 'info',
        spool_dir             => "$self->{dir}/spool",
        influx_url            => "http://127.0.0.1:$influx",
        influx_db             => $self->{db},
        influx_timeout_ms     => 2000,
        retry_max_ms          => 500,
        batch_max_ms          => 50,
        pg_dsn                => "host=127.0.0.1 port=$pg dbname=gonsters "
                                 . 'user=gonsters',
        last_seen_interval_ms => 200,
        inactivity_check_s    => 1,
        metrics_interval_ms   => 200,
        %{ $opt{conf} || {} },
    );
    $self->{conf} = write_file("$self->{dir}/worker.conf",
        join('', map { "$_ = $kv{$_}\n" } sort keys %kv));
    $self->{metrics} = "$self->{dir}/spool/metrics.prom";
    $self->{runs} = 0;
    return $self;
}

sub id      { $_[0]{id} }
sub db      { $_[0]{db} }
sub pid     { $_[0]{pid} }
sub logfile { "$_[0]{dir}/worker.log" }

# starts it; waits until it is subscribed (the log says so)
sub start {
    my ($self) = @_;
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', '/dev/null';
        open STDERR, '>>', $self->logfile or POSIX::_exit(126);
        exec $self->{bin}, '-c', $self->{conf} or POSIX::_exit(127);
    }
    $self->{pid} = $pid;
    $self->{runs}++;
    my $want = $self->{runs};
    my $ok = wait_until(20, sub {
        my $n = () = read_file($self->logfile) =~ /"message":"subscribed"/g;
        return $n >= 2 * $want;
    });
    diag("worker $self->{id} did not subscribe:\n" . read_file($self->logfile))
        unless $ok;
    return $ok;
}

sub alive {
    my ($self) = @_;
    return 0 unless $self->{pid};
    return waitpid($self->{pid}, WNOHANG) == 0;
}

sub kill9 {
    my ($self) = @_;
    return unless $self->{pid};
    kill 'KILL', $self->{pid};
    waitpid($self->{pid}, 0);
    delete $self->{pid};
}

# SIGTERM; returns the exit status (undef if it had to be killed)
sub stop {
    my ($self) = @_;
    return 0 unless $self->{pid};
    kill 'TERM', $self->{pid};
    my $st;
    wait_until(15, sub {
        my $r = waitpid($self->{pid}, WNOHANG);
        $st = $? if $r == $self->{pid};
        return $r == $self->{pid};
    }) or do { kill 'KILL', $self->{pid}; waitpid($self->{pid}, 0); };
    delete $self->{pid};
    return $st;
}

# a counter of the metrics file (summed over label sets matching $labels)
sub metric {
    my ($self, $name, $labels) = @_;
    my $sum;
    for (split /\n/, read_file($self->{metrics})) {
        next unless /^gonsters_worker_\Q$name\E\{([^}]*)\} (\S+)$/;
        next if defined $labels && index($1, $labels) < 0;
        $sum += $2;
    }
    return $sum;
}

sub log_records {
    my ($self) = @_;
    my (@ok, @bad);
    for (split /\n/, read_file($self->logfile)) {
        my $j = eval { $json->decode($_) };
        if (ref $j eq 'HASH' && defined $j->{timestamp} && defined $j->{level}
            && defined $j->{logger} && defined $j->{message}
            && ref $j->{context} eq 'HASH')
        {
            push @ok, $j;
        } else {
            push @bad, $_;
        }
    }
    return (\@ok, \@bad);
}

# the broker keeps an offline session, and queues every later test's
# messages for its share group, until session_expiry: drop the sessions
# with a clean-start connect under each client id
sub forget_sessions {
    my ($self) = @_;
    my $port = $ENV{GONSTERS_MQTT_PORT} or return;
    system('mosquitto_sub', '-h', '127.0.0.1', '-p', $port, '-i',
           $self->{id}, '-t', 'gonsters/test/none', '-E', '-W', '5');
}

sub DESTROY {
    my ($self) = @_;
    if ($self->{pid}) {
        kill 'KILL', $self->{pid};
        waitpid($self->{pid}, 0);
    }
    local $?;
    $self->forget_sessions;
}

# ---- machines ----------------------------------------------------------------

my $has_factory;

sub factory_column {
    $has_factory //= (psql("SELECT count(*) FROM information_schema.columns "
                           . "WHERE table_name = 'machine_metadata' "
                           . "AND column_name = 'factory_id'"))[0][0];
    return $has_factory;
}

# a machine in the registry; returns its id.  The worker hears of it by
# NOTIFY gonsters_machines: sql/007's trigger when present, and here once
# more by hand (harmless: the worker reloads the machine).
sub new_machine {
    my ($name, $factory, %opt) = @_;
    my $loc = $opt{location} || 'Test Hall';
    my $st = $opt{sensor_type} || 'temperature';
    my ($cols, $vals) = ('name, location, sensor_type', "'$name', '$loc', '$st'");
    if (factory_column()) {
        $cols .= ', factory_id';
        $vals .= ", '$factory'";
    }
    my ($row) = psql("INSERT INTO machine_metadata ($cols) VALUES ($vals) "
                     . 'RETURNING id');
    my $id = $row->[0];
    psql("SELECT pg_notify('gonsters_machines', json_build_object('op', "
         . "'insert', 'machine_id', '$id'::uuid)::text)");
    return $id;
}

# ---- MQTT -------------------------------------------------------------------

sub iso_ms {
    my ($ms) = @_;
    return strftime('%Y-%m-%dT%H:%M:%S', gmtime(int($ms / 1000)))
           . sprintf('.%03dZ', $ms % 1000);
}

# publishes each line as one QoS 1 message on $topic (mosquitto_pub -l,
# at most 65535 lines: its message ids wrap); returns the pid, or waits
# when $wait
sub publish_lines {
    my ($topic, $lines, $file, $wait) = @_;
    die 'mosquitto_pub -l stops early past 65535 lines' if @$lines > 65535;
    write_file($file, join("\n", @$lines) . "\n");
    my $port = env_or_bail('GONSTERS_MQTT_PORT');
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', $file or POSIX::_exit(126);
        exec 'mosquitto_pub', '-h', '127.0.0.1', '-p', $port, '-q', '1',
             '-l', '-t', $topic or POSIX::_exit(127);
    }
    return $pid unless $wait;
    waitpid($pid, 0);
    return $? == 0;
}

sub publish_one {
    my ($topic, $payload) = @_;
    my $port = env_or_bail('GONSTERS_MQTT_PORT');
    return system('mosquitto_pub', '-h', '127.0.0.1', '-p', $port, '-q', '1',
                  '-t', $topic, '-m', $payload) == 0;
}

# ---- InfluxDB ---------------------------------------------------------------

sub influx_query {
    my ($db, $q) = @_;
    my $port = env_or_bail('GONSTERS_INFLUX_PORT');
    my $http = HTTP::Tiny->new(timeout => 10);
    my $r = $http->post_form("http://127.0.0.1:$port/query",
                             { db => $db, q => $q, epoch => 'ms' });
    return undef unless $r->{success};
    return eval { $json->decode($r->{content}) };
}

# the test database gets the stack's InfluxDB setup (retention tiers,
# continuous queries): sql/influxdb/*.iql with the database renamed
my %set_up;

sub setup_influx_db {
    my ($db) = @_;
    return if $set_up{$db}++;
    my $top = $INC{'Gonsters/Worker.pm'} =~ s{t/lib/Gonsters/Worker\.pm$}{}r;
    for my $file (sort glob "${top}sql/influxdb/*.iql") {
        my $stmt = '';
        for my $line (split /\n/, read_file($file)) {
            next if $line =~ /^\s*(--|$)/;
            $stmt .= "$line ";
            next unless $line =~ /;\s*$/;
            $stmt =~ s/;\s*$//;
            $stmt =~ s/\bgonsters\b/$db/g;
            my $j = influx_query($db, $stmt);
            die "InfluxDB setup of $db failed: $stmt"
                unless $j && !grep { $_->{error} } @{ $j->{results} || [] };
            $stmt = '';
        }
    }
}

# count(temperature) over the database (0 when it has no points or does
# not exist yet)
sub influx_count {
    my ($db, $where) = @_;
    my $j = influx_query($db, 'SELECT count(temperature) FROM sensor_readings'
                              . ($where ? " WHERE $where" : ''));
    my $v = $j && $j->{results}[0]{series}
          ? $j->{results}[0]{series}[0]{values}[0][1] : 0;
    return $v // 0;
}

1;
