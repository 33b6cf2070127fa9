// A generator of many short UDP flows, for the flood and burst tests.
// The generator, in Perl (perl-base is Essential on Debian; a Node loop costs twice the CPU per datagram,
// and CPU is what a 2-core machine runs out of). One socket per source port; each datagram goes to the
// next destination port, so no 5-tuple repeats within the flood (sockets × port range ≫ datagrams).
// Each second's quota goes out in 100 chunks with short sleeps between. Prints {sent, errors} when done.
export const GENERATOR_PL = String.raw`use strict; use warnings; use Socket;
my ($host, $rate, $secs, $nsock, $lo, $hi) = @ARGV;
my $ip = inet_aton($host);
my @s;
for (1 .. $nsock) { socket(my $fh, PF_INET, SOCK_DGRAM, 0) or die "socket: $!"; bind($fh, pack_sockaddr_in(0, INADDR_ANY)) or die "bind: $!"; push @s, $fh; }
my $cur = time; select(undef, undef, undef, 0.01) while time == $cur;
$| = 1; print "started\n";
my ($sent, $err, $dport, $si) = (0, 0, $lo, 0);
my $end = time + $secs; my $chunk = int($rate / 100) || 1; my $quota = 0; $cur = 0;
while ((my $now = time) < $end) {
  if ($now != $cur) { $cur = $now; $quota = $rate; }
  if ($quota > 0) {
    my $n = $quota < $chunk ? $quota : $chunk; $quota -= $n;
    for (1 .. $n) {
      if (defined send($s[$si], 'flood', 0, pack_sockaddr_in($dport, $ip))) { $sent++ } else { $err++ }
      if (++$si == $nsock) { $si = 0; $dport = $dport >= $hi ? $lo : $dport + 1; }
    }
  }
  select(undef, undef, undef, 0.002);
}
print "{\"sent\":$sent,\"errors\":$err}\n";
`;
