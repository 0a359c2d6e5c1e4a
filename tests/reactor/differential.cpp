// The differential test: every Operation code, on the same inputs, through BlockingIo and through each
// reactor, gives the same result (the value, or the same Error: code, OS error and operation), fault
// paths included. Each case builds its inputs afresh for each side (files under a temporary directory,
// descriptors of the same kind) so both start from the same state.
#include <catch2/catch.hpp>
#include <dirent.h>
#include <sys/stat.h>
#include <functional>
#include <string>
#include <vector>
#include "reactor_support.hpp"

using namespace zsync;
using namespace zsync::test::reactor;

namespace {

struct TempDir {
    std::string path;
    TempDir() {
        char t[] = "/tmp/zsync-reactor-XXXXXX";
        path = ::mkdtemp(t);
    }
    ~TempDir() { std::system(("rm -rf " + path).c_str()); }
    std::string operator/(const std::string& n) const { return path + "/" + n; }
};

void write_file(const std::string& p, const std::string& content) {
    int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
    ::close(fd);
}

// One case: make(dir) prepares the inputs in a fresh directory and returns the Operation (its buffers
// live in the Scratch); after(op) releases what the Operation produced (a descriptor) and may return
// extra state to compare (e.g. bytes read).
struct Scratch {
    std::vector<int> fds;
    std::vector<char> buf = std::vector<char>(4096, 0);
    std::string s1, s2;
    FileStat st{};
    IoVec iov[2]{};
    SocketAddress addr{};
    Handle pair[2]{-1, -1};
    std::atomic<std::uint32_t> word{0};
    LookupAnswer answers[8]{};
    ~Scratch() { for (int f : fds) if (f >= 0) ::close(f); }
    int keep(int f) { fds.push_back(f); return f; }
};

struct Case {
    const char* name;
    std::function<Operation(Scratch&, const TempDir&)> make;
    bool produces_fd = false;  // the result is a descriptor: compare success, then close it
};

int tcp_socket(Scratch& s) { return s.keep(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)); }

SocketAddress loopback(std::uint16_t port) {
    SocketAddress a;
    a.family = AddressFamily::ipv4;
    a.port = port;
    a.ip[0] = 127;
    a.ip[3] = 1;
    return a;
}

std::vector<Case> cases() {
    std::vector<Case> c;
    auto file = [](Scratch& s, const TempDir& d, int flags) {
        write_file(d / "f", "hello, differential world");
        return s.keep(::open((d / "f").c_str(), flags | O_CLOEXEC));
    };
    c.push_back({"nop", [](Scratch&, const TempDir&) { return Operation::nop(); }});
    c.push_back({"yield", [](Scratch&, const TempDir&) { return Operation::yield(); }});
    c.push_back({"read file", [=](Scratch& s, const TempDir& d) { return Operation::read(file(s, d, O_RDONLY), bytes(s.buf.data(), 100)); }});
    c.push_back({"read bad fd", [](Scratch& s, const TempDir&) { return Operation::read(-1, bytes(s.buf.data(), 1)); }});
    c.push_back({"read unopened fd", [](Scratch& s, const TempDir&) { return Operation::read(999'999, bytes(s.buf.data(), 1)); }});
    c.push_back({"read write-only file", [=](Scratch& s, const TempDir& d) { return Operation::read(file(s, d, O_WRONLY), bytes(s.buf.data(), 4)); }});
    c.push_back({"read directory", [](Scratch& s, const TempDir& d) { return Operation::read(s.keep(::open(d.path.c_str(), O_RDONLY | O_DIRECTORY)), bytes(s.buf.data(), 4)); }});
    c.push_back({"read zero bytes", [=](Scratch& s, const TempDir& d) { return Operation::read(file(s, d, O_RDONLY), bytes(s.buf.data(), 0)); }});
    c.push_back({"write read-only file", [=](Scratch& s, const TempDir& d) { return Operation::write(file(s, d, O_RDONLY), bytes(s.buf.data(), 4)); }});
    c.push_back({"write file", [=](Scratch& s, const TempDir& d) { return Operation::write(file(s, d, O_WRONLY), bytes(s.buf.data(), 10)); }});
    c.push_back({"write pipe without reader", [](Scratch& s, const TempDir&) {
        int p[2];
        ::pipe2(p, O_CLOEXEC);
        ::close(p[0]);
        return Operation::write(s.keep(p[1]), bytes(s.buf.data(), 4));
    }});
    c.push_back({"read pipe with data", [](Scratch& s, const TempDir&) {
        int p[2];
        ::pipe2(p, O_CLOEXEC);
        s.keep(p[1]);
        (void)::write(p[1], "abc", 3);
        return Operation::read(s.keep(p[0]), bytes(s.buf.data(), 10));
    }});
    c.push_back({"read pipe at end", [](Scratch& s, const TempDir&) {
        int p[2];
        ::pipe2(p, O_CLOEXEC);
        ::close(p[1]);
        return Operation::read(s.keep(p[0]), bytes(s.buf.data(), 10));
    }});
    c.push_back({"pread file", [=](Scratch& s, const TempDir& d) { return Operation::pread(file(s, d, O_RDONLY), bytes(s.buf.data(), 5), 7); }});
    c.push_back({"pread past end", [=](Scratch& s, const TempDir& d) { return Operation::pread(file(s, d, O_RDONLY), bytes(s.buf.data(), 5), 1000); }});
    c.push_back({"pread pipe", [](Scratch& s, const TempDir&) {
        int p[2];
        ::pipe2(p, O_CLOEXEC);
        s.keep(p[1]);
        return Operation::pread(s.keep(p[0]), bytes(s.buf.data(), 5), 0);
    }});
    c.push_back({"pwrite file", [=](Scratch& s, const TempDir& d) { return Operation::pwrite(file(s, d, O_WRONLY), bytes(s.buf.data(), 5), 3); }});
    c.push_back({"readv file", [=](Scratch& s, const TempDir& d) {
        s.iov[0] = {s.buf.data(), 3};
        s.iov[1] = {s.buf.data() + 100, 50};
        return Operation::readv(file(s, d, O_RDONLY), std::span<const IoVec>(s.iov, 2));
    }});
    c.push_back({"writev file", [=](Scratch& s, const TempDir& d) {
        s.iov[0] = {s.buf.data(), 3};
        s.iov[1] = {s.buf.data() + 100, 50};
        return Operation::writev(file(s, d, O_WRONLY), std::span<const IoVec>(s.iov, 2));
    }});
    c.push_back({"preadv file", [=](Scratch& s, const TempDir& d) {
        s.iov[0] = {s.buf.data(), 3};
        s.iov[1] = {s.buf.data() + 100, 50};
        return Operation::preadv(file(s, d, O_RDONLY), std::span<const IoVec>(s.iov, 2), 4);
    }});
    c.push_back({"pwritev bad fd", [](Scratch& s, const TempDir&) {
        s.iov[0] = {s.buf.data(), 3};
        return Operation::pwritev(-1, std::span<const IoVec>(s.iov, 1), 0);
    }});
    c.push_back({"readv too many", [=](Scratch& s, const TempDir& d) {
        Operation op = Operation::readv(file(s, d, O_RDONLY), std::span<const IoVec>(s.iov, 2));
        op.rw.len = 5000;  // > IOV_MAX: the kernel's EINVAL (iov points at 2 valid entries; not read)
        return op;
    }});
    c.push_back({"open existing", [](Scratch& s, const TempDir& d) {
        write_file(d / "f", "x");
        s.s1 = d / "f";
        return Operation::open_at(cwd_handle, s.s1, {});
    }, true});
    c.push_back({"open missing", [](Scratch& s, const TempDir& d) { s.s1 = d / "nope"; return Operation::open_at(cwd_handle, s.s1, {}); }});
    c.push_back({"open exclusive existing", [](Scratch& s, const TempDir& d) {
        write_file(d / "f", "x");
        s.s1 = d / "f";
        OpenOptions o;
        o.access = OpenOptions::write_only;
        o.create = o.exclusive = true;
        return Operation::open_at(cwd_handle, s.s1, o);
    }});
    c.push_back({"open file as directory", [](Scratch& s, const TempDir& d) {
        write_file(d / "f", "x");
        s.s1 = d / "f";
        OpenOptions o;
        o.directory = true;
        return Operation::open_at(cwd_handle, s.s1, o);
    }});
    c.push_back({"open path too long", [](Scratch& s, const TempDir&) { s.s1.assign(5000, 'a'); return Operation::open_at(cwd_handle, s.s1, {}); }});
    c.push_back({"open path with NUL", [](Scratch& s, const TempDir&) { s.s1 = std::string("a\0b", 3); return Operation::open_at(cwd_handle, s.s1, {}); }});
    c.push_back({"open relative to a bad dir", [](Scratch& s, const TempDir&) { s.s1 = "x"; return Operation::open_at(12345, s.s1, {}); }});
    c.push_back({"close bad fd", [](Scratch&, const TempDir&) { return Operation::close(-1); }});
    c.push_back({"stat file", [](Scratch& s, const TempDir& d) {
        write_file(d / "f", "twelve bytes");
        s.s1 = d / "f";
        return Operation::stat_at(cwd_handle, s.s1, s.st);
    }});
    c.push_back({"stat missing", [](Scratch& s, const TempDir& d) { s.s1 = d / "nope"; return Operation::stat_at(cwd_handle, s.s1, s.st); }});
    c.push_back({"fstat file", [=](Scratch& s, const TempDir& d) { return Operation::stat_at(file(s, d, O_RDONLY), "", s.st); }});
    c.push_back({"fstat bad fd", [](Scratch& s, const TempDir&) { return Operation::stat_at(-1, "", s.st); }});
    c.push_back({"fsync file", [=](Scratch& s, const TempDir& d) { return Operation::fsync(file(s, d, O_WRONLY)); }});
    c.push_back({"fdatasync bad fd", [](Scratch&, const TempDir&) { return Operation::fsync(-1, true); }});
    c.push_back({"mkdir", [](Scratch& s, const TempDir& d) { s.s1 = d / "sub"; return Operation::mkdir_at(cwd_handle, s.s1, 0755); }});
    c.push_back({"mkdir existing", [](Scratch& s, const TempDir& d) { s.s1 = d.path; return Operation::mkdir_at(cwd_handle, s.s1, 0755); }});
    c.push_back({"remove missing", [](Scratch& s, const TempDir& d) { s.s1 = d / "nope"; return Operation::remove_at(cwd_handle, s.s1, false); }});
    c.push_back({"remove non-empty directory", [](Scratch& s, const TempDir& d) {
        ::mkdir((d / "sub").c_str(), 0755);
        write_file(d / "sub/x", "x");
        s.s1 = d / "sub";
        return Operation::remove_at(cwd_handle, s.s1, true);
    }});
    c.push_back({"remove file", [](Scratch& s, const TempDir& d) { write_file(d / "f", "x"); s.s1 = d / "f"; return Operation::remove_at(cwd_handle, s.s1, false); }});
    c.push_back({"rename", [](Scratch& s, const TempDir& d) {
        write_file(d / "f", "x");
        s.s1 = d / "f";
        s.s2 = d / "g";
        return Operation::rename_at(cwd_handle, s.s1, cwd_handle, s.s2);
    }});
    c.push_back({"rename missing", [](Scratch& s, const TempDir& d) { s.s1 = d / "nope"; s.s2 = d / "g"; return Operation::rename_at(cwd_handle, s.s1, cwd_handle, s.s2); }});
    c.push_back({"rename destination too long", [](Scratch& s, const TempDir& d) { s.s1 = d / "f"; s.s2.assign(5000, 'b'); return Operation::rename_at(cwd_handle, s.s1, cwd_handle, s.s2); }});
    c.push_back({"dir_read", [](Scratch& s, const TempDir& d) {
        write_file(d / "a", "1");
        write_file(d / "b", "2");
        int fd = s.keep(::open(d.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        return Operation::dir_read_into(fd, std::as_writable_bytes(std::span(s.buf)), true);
    }});
    c.push_back({"dir_read on a file", [=](Scratch& s, const TempDir& d) { return Operation::dir_read_into(file(s, d, O_RDONLY), std::as_writable_bytes(std::span(s.buf))); }});
    c.push_back({"sendfile file to file", [=](Scratch& s, const TempDir& d) {
        int in = file(s, d, O_RDONLY);
        int out = s.keep(::open((d / "out").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
        return Operation::sendfile(out, in, 0, 10);
    }});
    c.push_back({"copy_file_range bad fd", [](Scratch&, const TempDir&) { return Operation::copy_file_range(-1, 0, -1, 0, 10); }});
    c.push_back({"copy_file_range file", [=](Scratch& s, const TempDir& d) {
        int in = file(s, d, O_RDONLY);
        int out = s.keep(::open((d / "out").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
        return Operation::copy_file_range(in, 2, out, 0, 8);
    }});
    c.push_back({"socket", [](Scratch&, const TempDir&) { return Operation::socket(AddressFamily::ipv4, SocketType::stream); }, true});
    c.push_back({"socket bad family", [](Scratch&, const TempDir&) { return Operation::socket(AddressFamily::unspecified, SocketType::stream); }});
    c.push_back({"bind bad address", [](Scratch& s, const TempDir&) { return Operation::bind(tcp_socket(s), s.addr); }});
    c.push_back({"listen on a file", [=](Scratch& s, const TempDir& d) { return Operation::listen(file(s, d, O_RDONLY), 4); }});
    c.push_back({"connect refused", [](Scratch& s, const TempDir&) {
        Listener l;  // bound and closed again: nothing listens on the port
        s.addr = l.addr;
        return Operation::connect(tcp_socket(s), s.addr);
    }});
    c.push_back({"connect bad fd", [](Scratch& s, const TempDir&) { s.addr = loopback(1); return Operation::connect(-1, s.addr); }});
    c.push_back({"connect a file", [=](Scratch& s, const TempDir& d) { s.addr = loopback(1); return Operation::connect(file(s, d, O_RDONLY), s.addr); }});
    c.push_back({"accept on an unlistening socket", [](Scratch& s, const TempDir&) { return Operation::accept(tcp_socket(s)); }});
    c.push_back({"accept bad fd", [](Scratch&, const TempDir&) { return Operation::accept(-1); }});
    c.push_back({"send unconnected", [](Scratch& s, const TempDir&) { return Operation::send(tcp_socket(s), bytes(s.buf.data(), 4)); }});
    c.push_back({"recv unconnected", [](Scratch& s, const TempDir&) { return Operation::recv(tcp_socket(s), bytes(s.buf.data(), 4)); }});
    c.push_back({"recv on a file", [=](Scratch& s, const TempDir& d) { return Operation::recv(file(s, d, O_RDONLY), bytes(s.buf.data(), 4)); }});
    c.push_back({"send to a reset peer", [](Scratch& s, const TempDir&) {
        Listener l;
        auto [a, b] = tcp_pair(l);
        s.keep(a);
        ::close(b);
        (void)::send(a, "x", 1, MSG_NOSIGNAL);
        ::usleep(2000);
        (void)::send(a, "x", 1, MSG_NOSIGNAL);  // the RST arrived: the next send is EPIPE
        ::usleep(2000);
        return Operation::send(a, bytes(s.buf.data(), 4));
    }});
    c.push_back({"recv with data", [](Scratch& s, const TempDir&) {
        int p[2];
        ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p);
        s.keep(p[0]);
        (void)::write(p[0], "data!", 5);
        return Operation::recv(s.keep(p[1]), bytes(s.buf.data(), 100));
    }});
    c.push_back({"recv zero bytes", [](Scratch& s, const TempDir&) {
        int p[2];
        ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p);
        s.keep(p[0]);
        (void)::write(p[0], "data!", 5);
        return Operation::recv(s.keep(p[1]), bytes(s.buf.data(), 0));
    }});
    c.push_back({"recv past deadline, nothing there", [](Scratch& s, const TempDir&) {
        int p[2];
        ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p);
        s.keep(p[0]);
        return Operation::recv(s.keep(p[1]), bytes(s.buf.data(), 4), Deadline{0});
    }});
    c.push_back({"sendto bad address", [](Scratch& s, const TempDir&) {
        int u = s.keep(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        return Operation::sendto(u, bytes(s.buf.data(), 4), s.addr);
    }});
    c.push_back({"sendto and recvfrom (UDP)", [](Scratch& s, const TempDir&) {
        int u = s.keep(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(u, reinterpret_cast<sockaddr*>(&a), sizeof a);
        socklen_t len = sizeof a;
        ::getsockname(u, reinterpret_cast<sockaddr*>(&a), &len);
        (void)::sendto(u, "dgram", 5, 0, reinterpret_cast<sockaddr*>(&a), len);
        return Operation::recvfrom(u, bytes(s.buf.data(), 100), &s.addr);
    }});
    c.push_back({"shutdown unconnected", [](Scratch& s, const TempDir&) { return Operation::shutdown(tcp_socket(s), ShutdownHow::both); }});
    c.push_back({"setsockopt bad fd", [](Scratch&, const TempDir&) { return Operation::setsockopt(-1, SocketOption::no_delay, 1); }});
    c.push_back({"getsockname", [](Scratch& s, const TempDir&) { return Operation::getsockname(tcp_socket(s), s.addr); }});
    c.push_back({"getpeername unconnected", [](Scratch& s, const TempDir&) { return Operation::getpeername(tcp_socket(s), s.addr); }});
    c.push_back({"socketpair", [](Scratch& s, const TempDir&) { return Operation::socketpair(s.pair); }});
    c.push_back({"lookup localhost", [](Scratch& s, const TempDir&) { return Operation::lookup("localhost", 80, s.answers, AddressFamily::ipv4); }});
    c.push_back({"lookup empty name", [](Scratch& s, const TempDir&) { return Operation::lookup("", 80, s.answers); }});
    c.push_back({"poll readable with data", [](Scratch& s, const TempDir&) {
        int p[2];
        ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p);
        s.keep(p[0]);
        (void)::write(p[0], "data!", 5);
        return Operation::poll(s.keep(p[1]), PollEvents::readable | PollEvents::writable);
    }});
    c.push_back({"poll writable", [](Scratch& s, const TempDir&) {
        int p[2];
        ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p);
        s.keep(p[0]);
        return Operation::poll(s.keep(p[1]), PollEvents::writable);
    }});
    c.push_back({"poll past deadline, nothing there", [](Scratch& s, const TempDir&) {
        int p[2];
        ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p);
        s.keep(p[0]);
        return Operation::poll(s.keep(p[1]), PollEvents::readable, Deadline{0});
    }});
    c.push_back({"poll after the peer closed", [](Scratch& s, const TempDir&) {
        int p[2];
        ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p);
        ::close(p[0]);
        return Operation::poll(s.keep(p[1]), PollEvents::readable);
    }});
    c.push_back({"poll empty pipe's writer", [](Scratch& s, const TempDir&) {
        int p[2];
        (void)::pipe2(p, O_CLOEXEC);
        s.keep(p[0]);
        return Operation::poll(s.keep(p[1]), PollEvents::readable | PollEvents::writable);
    }});
    c.push_back({"poll regular file", [](Scratch& s, const TempDir& d) {
        write_file(d / "f", "x");
        return Operation::poll(s.keep(::open((d / "f").c_str(), O_RDONLY | O_CLOEXEC)), PollEvents::readable | PollEvents::writable);
    }});
    c.push_back({"poll after a refused connect", [](Scratch& s, const TempDir&) {
        int t = s.keep(refused_socket());
        return Operation::poll(t, PollEvents::writable, Deadline::after(std::chrono::seconds(5)));
    }});
    c.push_back({"poll bad fd", [](Scratch&, const TempDir&) { return Operation::poll(-1, PollEvents::readable); }});
    c.push_back({"poll closed fd", [](Scratch&, const TempDir&) {
        int f = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        ::close(f);
        return Operation::poll(f, PollEvents::readable, Deadline::after(std::chrono::seconds(2)));
    }});
    c.push_back({"sleep past deadline", [](Scratch&, const TempDir&) { return Operation::sleep_until(Deadline{0}); }});
    c.push_back({"futex_wait changed word", [](Scratch& s, const TempDir&) { s.word = 3; return Operation::futex_wait(s.word, 2); }});
    c.push_back({"futex_wait past deadline", [](Scratch& s, const TempDir&) { return Operation::futex_wait(s.word, 0, Deadline{0}); }});
    return c;
}

bool same(const Result<std::uint64_t>& a, const Result<std::uint64_t>& b) {
    if (bool(a) != bool(b)) return false;
    return a ? *a == *b : a.error() == b.error();
}

std::string show(const Result<std::uint64_t>& r) {
    if (r) return "ok " + std::to_string(*r);
    return r.error().message();
}

}  // namespace

TEST_CASE("reactor: every Operation gives BlockingIo's result (differential)", "[reactor][differential]") {
    Kind k = REACTOR_KINDS;
    Driver d({.kind = k});
    BlockingIo blocking;
    for (auto& c : cases()) {
        INFO("case: " << c.name << " on " << zsync::reactor::kind_name(k));
        Result<std::uint64_t> want{std::uint64_t(0)}, got{std::uint64_t(0)};
        std::string want_buf, got_buf;
        FileStat want_st{}, got_st{};
        {
            TempDir dir;
            Scratch s;
            Operation op = c.make(s, dir);
            want = blocking.io().operate(op);
            if (c.produces_fd && want) ::close(static_cast<int>(*want));
            if (want && *want <= s.buf.size()) want_buf.assign(s.buf.data(), *want);
            want_st = s.st;
            if (s.pair[0] >= 0) { ::close(s.pair[0]); ::close(s.pair[1]); }
        }
        {
            TempDir dir;
            Scratch s;
            Operation op = c.make(s, dir);
            got = run_one(d, op);
            if (c.produces_fd && got) ::close(static_cast<int>(*got));
            if (got && *got <= s.buf.size()) got_buf.assign(s.buf.data(), *got);
            got_st = s.st;
            if (s.pair[0] >= 0) { ::close(s.pair[0]); ::close(s.pair[1]); }
        }
        INFO("BlockingIo: " << show(want) << "; reactor: " << show(got));
        if (c.produces_fd) {
            CHECK(bool(want) == bool(got));
            continue;
        }
        CHECK(same(want, got));
        if (std::string_view(c.name) != "dir_read") CHECK(want_buf == got_buf);  // dir_read: inodes differ
        CHECK(want_st.size == got_st.size);
        CHECK(want_st.kind == got_st.kind);
        CHECK(want_st.mode == got_st.mode);
    }
    CHECK(d.in_flight() == 0);
}
