// The one client of the echo (and HTTP smoke) benchmarks: plain POSIX sockets and epoll on one thread,
// so the client is the same for every server it measures and costs as little CPU as it can.
//
//   bench_net_client --server NAME=CMD [--server NAME=CMD ...] | --connect NAME=ADDR:PORT ...
//                    [--conns 1,16] [--sizes 64,4096] [--msgs 20000] [--runs 7] [--http /PATH] [--pin]
//
// --server starts CMD (words separated by spaces) and reads its first line, `listening on ADDR:PORT`
// (the first line of the samples and of the bench servers); the server is killed (SIGTERM) at the end.
// --connect uses a server that is already running. Loopback addresses only.
//
// Echo (default): for each K in --conns and each S in --sizes, opens K connections (TCP_NODELAY), makes
// one untimed round trip on each, then times --msgs round trips per connection, all K connections at
// once: write S bytes, read the S bytes back (checked), repeat. Figures per server, K and S:
//   net.echo.<name>.k<K>.b<S>.rt_per_s   round trips per second (all connections together)
//   net.echo.<name>.k<K>.b<S>.mib_per_s  payload MiB per second, one direction
// and with two or more servers the paired per-round ratio of each server but the last over the last
// one (first/second with two), of the round trips per second:
//   net.echo.<name>_over_<last>.k<K>.b<S>.ratio
// For a server this program started, the CPU time it spent (all its threads, from
// /proc/PID/task/*/schedstat) during the timed part, per round trip:
//   net.echo.<name>.k<K>.b<S>.server_cpu_ns_per_rt
// which does not depend on where the scheduler placed client and server (the wall-clock rate does: on
// two vCPUs a round moves ±15 % with placement), and the paired ratio .server_cpu_ratio (lower is
// cheaper). --pin puts this client on CPU 0 and every server it starts on CPU 1 (needs two CPUs), the
// same placement for every server.
// --http /PATH: instead of echo messages, each round trip is `GET /PATH HTTP/1.1` (keep-alive) and a
// complete response (status 200, Content-Length body); figures net.http.<name>.k<K>.requests_per_s.
// Rounds are interleaved: every round runs every configuration on every server, the server order
// rotating from round to round; one untimed round first. Medians with min–max, as the other programs.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>
#include "bench_common.hpp"

namespace {

struct Server {
    std::string name;
    sockaddr_in addr{};
    pid_t pid = -1;
};

[[noreturn]] void fail(const std::string& what) {
    std::fprintf(stderr, "error: %s\n", what.c_str());
    std::exit(1);
}

bool parse_addr(std::string_view s, sockaddr_in& a) {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos) return false;
    std::string host(s.substr(0, colon)), port(s.substr(colon + 1));
    a = {};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(std::atoi(port.c_str())));
    return ::inet_pton(AF_INET, host.c_str(), &a.sin_addr) == 1 && a.sin_port != 0;
}

std::vector<Server> g_servers;
bool g_pin = false;

void pin_to(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (::sched_setaffinity(0, sizeof set, &set) != 0) bench::die("sched_setaffinity (--pin needs two CPUs)");
}

// CPU time in ns that process `pid` has run so far, all its threads (schedstat's first field); -1 when
// unknown (a server this program did not start, or no schedstat in this kernel).
double cpu_ns_of(pid_t pid) {
    if (pid <= 0) return -1;
    std::string dir = "/proc/" + std::to_string(pid) + "/task";
    DIR* d = ::opendir(dir.c_str());
    if (!d) return -1;
    double total = 0;
    bool any = false;
    while (dirent* e = ::readdir(d)) {
        if (e->d_name[0] == '.') continue;
        FILE* f = std::fopen((dir + "/" + e->d_name + "/schedstat").c_str(), "r");
        if (!f) continue;  // the thread exited
        unsigned long long run = 0;
        if (std::fscanf(f, "%llu", &run) == 1) { total += double(run); any = true; }
        std::fclose(f);
    }
    ::closedir(d);
    return any ? total : -1;
}

void kill_servers() {
    for (auto& s : g_servers)
        if (s.pid > 0) {
            ::kill(s.pid, SIGTERM);
            int st;
            ::waitpid(s.pid, &st, 0);
            s.pid = -1;
        }
}

// Starts `cmd` (words separated by spaces) and reads `listening on ADDR:PORT` from its first line.
Server start_server(const std::string& name, const std::string& cmd) {
    std::vector<std::string> words;
    for (std::size_t i = 0; i < cmd.size();) {
        auto j = cmd.find(' ', i);
        if (j == std::string::npos) j = cmd.size();
        if (j > i) words.push_back(cmd.substr(i, j - i));
        i = j + 1;
    }
    if (words.empty()) fail("empty server command for " + name);
    // The server's stdout goes to an unlinked temporary file (a server that logs never blocks on a
    // full pipe nor dies of SIGPIPE); its first line is read from there.
    char tmpl[] = "/tmp/bench_net_client.XXXXXX";
    int out = ::mkostemp(tmpl, O_CLOEXEC);
    if (out < 0) bench::die("mkostemp");
    ::unlink(tmpl);
    pid_t pid = ::fork();
    if (pid < 0) bench::die("fork");
    if (pid == 0) {
        if (g_pin) pin_to(1);
        ::dup2(out, 1);
        std::vector<char*> argv;
        for (auto& w : words) argv.push_back(w.data());
        argv.push_back(nullptr);
        ::execvp(argv[0], argv.data());
        std::fprintf(stderr, "exec %s: %s\n", argv[0], std::strerror(errno));
        ::_exit(127);
    }
    std::string line;
    for (int tries = 0; tries < 2000; ++tries) {  // up to 20 s
        char b[512];
        ssize_t n = ::pread(out, b, sizeof b, 0);
        std::string_view got(b, n > 0 ? std::size_t(n) : 0);
        if (auto nl = got.find('\n'); nl != std::string_view::npos) {
            line = got.substr(0, nl);
            break;
        }
        int st;
        if (::waitpid(pid, &st, WNOHANG) == pid) fail(name + ": the server exited before printing its address");
        ::usleep(10000);
    }
    ::close(out);
    Server s{name, {}, pid};
    g_servers.push_back(s);  // killed at exit from here on
    const std::string_view prefix = "listening on ";
    if (!line.starts_with(prefix) || !parse_addr(std::string_view(line).substr(prefix.size()), g_servers.back().addr))
        fail(name + ": server did not print `listening on ADDR:PORT` (got \"" + line + "\")");
    return g_servers.back();
}

struct Conn {
    int fd = -1;
    std::size_t sent = 0;     // bytes of the current request written
    std::size_t got = 0;      // echo: bytes of the current reply read
    std::string in;           // http: the reply so far
    std::uint64_t done = 0;   // round trips completed
    bool want_out = false;
};

struct Run {
    std::string request;      // what every round trip writes
    bool http = false;
    std::size_t size = 0;     // echo: the reply length
};

int connect_to(const sockaddr_in& a) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) bench::die("socket");
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) bench::die("connect");
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

// Writes what is left of the request; registers for writability when the socket buffer is full.
void push(int ep, Conn& c, const Run& r) {
    while (c.sent < r.request.size()) {
        ssize_t n = ::send(c.fd, r.request.data() + c.sent, r.request.size() - c.sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN) break;
            bench::die("send");
        }
        c.sent += std::size_t(n);
    }
    bool want = c.sent < r.request.size();
    if (want != c.want_out) {
        epoll_event ev{};
        ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
        ev.data.ptr = &c;
        if (::epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev) != 0) bench::die("epoll_ctl");
        c.want_out = want;
    }
}

// Whether c.in holds a complete HTTP response; checks it is a 200 and removes it.
bool http_reply_complete(Conn& c) {
    auto end = c.in.find("\r\n\r\n");
    if (end == std::string::npos) return false;
    std::string_view head(c.in.data(), end);
    if (!head.starts_with("HTTP/1.1 200")) fail("HTTP reply is not 200: " + std::string(head.substr(0, head.find('\r'))));
    std::size_t len = 0;
    bool have_len = false;
    for (std::size_t pos = head.find("\r\n"); pos != std::string_view::npos;) {
        std::size_t s = pos + 2, e = head.find("\r\n", s);
        std::string_view h = head.substr(s, e == std::string_view::npos ? std::string_view::npos : e - s);
        if (h.size() > 15 && strncasecmp(h.data(), "content-length:", 15) == 0) {
            len = std::strtoull(std::string(h.substr(15)).c_str(), nullptr, 10);
            have_len = true;
        }
        pos = e;
    }
    if (!have_len) fail("HTTP reply without Content-Length");
    if (c.in.size() < end + 4 + len) return false;
    if (c.in.size() > end + 4 + len) fail("HTTP: more bytes than one reply");
    c.in.clear();
    return true;
}

struct Timed {
    double secs;
    double server_cpu_ns;  // -1: unknown
    double client_cpu_ns;
};

// Times `msgs` round trips on each of `k` connections to `s`: the wall time, and the server's CPU time.
Timed run_once(const Server& s, std::size_t k, std::uint64_t msgs, const Run& r, std::vector<char>& buf) {
    const sockaddr_in& a = s.addr;
    int ep = ::epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) bench::die("epoll_create1");
    std::vector<Conn> conns(k);
    for (auto& c : conns) {
        c.fd = connect_to(a);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.ptr = &c;
        if (::epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev) != 0) bench::die("epoll_ctl");
    }
    auto loop = [&](std::uint64_t target) {
        std::size_t finished = 0;
        for (auto& c : conns) {
            c.done = 0;
            c.sent = 0;
            c.got = 0;
            push(ep, c, r);
        }
        epoll_event evs[64];
        while (finished < k) {
            int n = ::epoll_wait(ep, evs, 64, 20000);
            if (n < 0) {
                if (errno == EINTR) continue;
                bench::die("epoll_wait");
            }
            if (n == 0) fail("no reply from the server for 20 s");
            for (int i = 0; i < n; ++i) {
                Conn& c = *static_cast<Conn*>(evs[i].data.ptr);
                if (evs[i].events & EPOLLOUT) push(ep, c, r);
                if (!(evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
                for (;;) {
                    ssize_t got = ::recv(c.fd, buf.data(), buf.size(), 0);
                    if (got < 0) {
                        if (errno == EAGAIN) break;
                        bench::die("recv");
                    }
                    if (got == 0) fail("the server closed a connection");
                    bool complete;
                    if (r.http) {
                        c.in.append(buf.data(), std::size_t(got));
                        complete = http_reply_complete(c);
                    } else {
                        // The reply must be the request's bytes, in order.
                        if (c.got + std::size_t(got) > r.size) fail("echo: more bytes than were sent");
                        if (std::memcmp(buf.data(), r.request.data() + c.got, std::size_t(got)) != 0) fail("echo: wrong bytes");
                        c.got += std::size_t(got);
                        complete = c.got == r.size;
                    }
                    if (!complete) continue;
                    if (c.sent != r.request.size()) fail("a reply before the whole request was written");
                    if (++c.done == target) {
                        ++finished;
                        break;
                    }
                    c.sent = 0;
                    c.got = 0;
                    push(ep, c, r);
                }
            }
        }
    };
    loop(1);  // untimed: every connection accepted and its first reply through
    double c0 = cpu_ns_of(s.pid), m0 = cpu_ns_of(::getpid());
    double t0 = bench::now_ns();
    loop(msgs);
    double t1 = bench::now_ns();
    double c1 = cpu_ns_of(s.pid), m1 = cpu_ns_of(::getpid());
    for (auto& c : conns) ::close(c.fd);
    ::close(ep);
    return {(t1 - t0) / 1e9, c0 < 0 || c1 < 0 ? -1 : c1 - c0, m1 - m0};
}

std::vector<std::uint64_t> parse_list(std::string_view s) {
    std::vector<std::uint64_t> v;
    while (!s.empty()) {
        auto c = s.find(',');
        v.push_back(std::strtoull(std::string(s.substr(0, c)).c_str(), nullptr, 10));
        if (c == std::string_view::npos) break;
        s.remove_prefix(c + 1);
    }
    return v;
}

}  // namespace

int main(int argc, char** argv) {
    bench::Args args{argc, argv};
    ::signal(SIGPIPE, SIG_IGN);
    std::atexit(kill_servers);
    for (int i = 1; i < argc; ++i)
        if (std::string_view(argv[i]) == "--pin") g_pin = true;
    if (g_pin) pin_to(0);
    for (int i = 1; i + 1 < argc; ++i) {
        std::string_view a = argv[i], v = argv[i + 1];
        if (a != "--server" && a != "--connect") continue;
        auto eq = v.find('=');
        if (eq == std::string_view::npos) fail("expected NAME=... after " + std::string(a));
        std::string name(v.substr(0, eq)), rest(v.substr(eq + 1));
        if (a == "--server") start_server(name, rest);
        else {
            Server s{name, {}, -1};
            if (!parse_addr(rest, s.addr)) fail("bad address " + rest);
            g_servers.push_back(s);
        }
        ++i;
    }
    if (g_servers.empty()) fail("no server (--server NAME=CMD or --connect NAME=ADDR:PORT)");
    const std::string http_path(args.get("--http", ""));
    const bool http = !http_path.empty();
    const auto conns = parse_list(args.get("--conns", "1,16"));
    auto sizes = parse_list(args.get("--sizes", "64,4096"));
    if (http) sizes = {0};
    const std::uint64_t msgs = args.num("--msgs", 20000), runs = args.num("--runs", 7);

    struct Config {
        std::size_t k;
        Run r;
    };
    std::vector<Config> configs;
    for (auto k : conns)
        for (auto s : sizes) {
            Config c{std::size_t(k), {}};
            c.r.http = http;
            if (http) c.r.request = "GET " + http_path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
            else {
                c.r.size = std::size_t(s);
                c.r.request.resize(c.r.size);
                for (std::size_t i = 0; i < c.r.size; ++i) c.r.request[i] = char('a' + i % 26);
            }
            configs.push_back(std::move(c));
        }
    const std::size_t ns = g_servers.size(), nc = configs.size();
    std::vector<std::vector<std::vector<double>>> rate(nc, std::vector<std::vector<double>>(ns));
    std::vector<std::vector<double>> ratio(nc * ns);  // [config * ns + server]: that server over the last one
    std::vector<std::vector<std::vector<double>>> cpu(nc, std::vector<std::vector<double>>(ns));  // ns per round trip
    std::vector<std::vector<double>> cpu_ratio(nc * ns);
    std::vector<std::vector<std::vector<double>>> client_cpu(nc, std::vector<std::vector<double>>(ns));
    std::vector<char> buf(1 << 16);
    for (std::uint64_t round = 0; round <= runs; ++round) {  // round 0: untimed warm-up
        for (std::size_t ci = 0; ci < nc; ++ci) {
            std::vector<double> per(ns), per_cpu(ns);
            for (std::size_t j = 0; j < ns; ++j) {
                std::size_t si = (j + round) % ns;
                const std::uint64_t m = round ? msgs : std::min<std::uint64_t>(msgs, 100);
                Timed t = run_once(g_servers[si], configs[ci].k, m, configs[ci].r, buf);
                per[si] = double(configs[ci].k) * double(m) / t.secs;
                per_cpu[si] = t.server_cpu_ns < 0 ? -1 : t.server_cpu_ns / (double(configs[ci].k) * double(m));
                if (round) client_cpu[ci][si].push_back(t.client_cpu_ns / (double(configs[ci].k) * double(m)));
            }
            if (!round) continue;
            for (std::size_t si = 0; si < ns; ++si) {
                rate[ci][si].push_back(per[si]);
                if (per_cpu[si] >= 0) cpu[ci][si].push_back(per_cpu[si]);
            }
            for (std::size_t si = 0; si + 1 < ns; ++si) {
                ratio[ci * ns + si].push_back(per[si] / per[ns - 1]);
                if (per_cpu[si] > 0 && per_cpu[ns - 1] > 0) cpu_ratio[ci * ns + si].push_back(per_cpu[si] / per_cpu[ns - 1]);
            }
        }
    }
    std::printf("config conns=%s msgs=%llu runs=%llu%s\n", std::string(args.get("--conns", "1,16")).c_str(),
                (unsigned long long)msgs, (unsigned long long)runs, http ? " http" : "");
    for (std::size_t ci = 0; ci < nc; ++ci) {
        const auto& c = configs[ci];
        std::string cfg = ".k" + std::to_string(c.k) + (http ? "" : ".b" + std::to_string(c.r.size));
        for (std::size_t si = 0; si < ns; ++si) {
            std::string base = std::string(http ? "net.http." : "net.echo.") + g_servers[si].name + cfg;
            bench::print_summary((base + (http ? ".requests_per_s" : ".rt_per_s")).c_str(), http ? "req/s" : "rt/s", rate[ci][si]);
            if (!http) {
                std::vector<double> mib;
                for (double x : rate[ci][si]) mib.push_back(x * double(c.r.size) / (1024.0 * 1024.0));
                bench::print_summary((base + ".mib_per_s").c_str(), "MiB/s", mib);
            }
            if (!cpu[ci][si].empty()) bench::print_summary((base + ".server_cpu_ns_per_rt").c_str(), "ns", cpu[ci][si]);
            bench::print_summary((base + ".client_cpu_ns_per_rt").c_str(), "ns", client_cpu[ci][si]);
        }
        for (std::size_t si = 0; si + 1 < ns; ++si) {
            std::string n = std::string(http ? "net.http." : "net.echo.") + g_servers[si].name + "_over_" + g_servers[ns - 1].name + cfg + ".ratio";
            bench::print_summary(n.c_str(), "x", ratio[ci * ns + si]);
            if (!cpu_ratio[ci * ns + si].empty()) {
                n.replace(n.size() - 6, 6, ".server_cpu_ratio");
                bench::print_summary(n.c_str(), "x", cpu_ratio[ci * ns + si]);
            }
        }
    }
    return 0;
}
