// Directories: create_dir, open_dir, DirIterator and Dir::list, delete_file, delete_dir, rename,
// stat_file, with their error paths.
#include <catch2/catch.hpp>
#include <algorithm>
#include <set>
#include "conformance.hpp"

using namespace zsync;
using namespace zsync::test;

TEMPLATE_LIST_TEST_CASE("dirs: create, open, stat, rename, delete", "[dirs]", Backends) {
    TempDir tmp;
    bool mk = false, opened = false, created = false, renamed = false, del_file = false, del_dir = false, closed = false;
    FileStat st_dir{}, st_file{};
    bool old_gone = false, new_there = false, cwd_close = false;
    ErrInfo exists, not_empty, is_dir, rename_missing, rmdir_file;
    auto leak = measure<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        auto root = Dir::open(io, tmp.path());
        if (!root) return;
        mk = root->create_dir(io, "sub", 0750).has_value();
        exists = info_of(root->create_dir(io, "sub"));
        auto sub = root->open_dir(io, "sub");
        opened = sub.has_value();
        if (!opened) { (void)root->close(io); return; }
        auto f = sub->create_file(io, "f.txt");
        created = f && f->write_all(io, "abc") && f->close(io);
        auto sd = root->stat_file(io, "sub");
        if (sd) st_dir = *sd;
        not_empty = info_of(root->delete_dir(io, "sub"));
        is_dir = info_of(root->delete_file(io, "sub"));
        rmdir_file = info_of(sub->delete_dir(io, "f.txt"));
        renamed = sub->rename(io, "f.txt", *root, "moved.txt").has_value();
        old_gone = !sub->stat_file(io, "f.txt").has_value();
        auto sf = root->stat_file(io, "moved.txt");
        new_there = sf.has_value();
        if (sf) st_file = *sf;
        rename_missing = info_of(sub->rename(io, "nope", *sub, "other"));
        del_file = root->delete_file(io, "moved.txt").has_value();
        closed = sub->close(io).has_value();
        del_dir = root->delete_dir(io, "sub").has_value();
        (void)root->close(io);
        Dir cwd = Dir::cwd();
        cwd_close = cwd.close(io).has_value() && cwd == Dir::cwd();
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(mk);
    REQUIRE_OS_ERROR(exists, std::errc::file_exists, Op::mkdir);
    REQUIRE(opened);
    CHECK(created);
    CHECK(st_dir.kind == FileKind::directory);
    CHECK(st_dir.mode == 0750);
    REQUIRE_OS_ERROR(not_empty, std::errc::directory_not_empty, Op::remove);
    REQUIRE_OS_ERROR(is_dir, std::errc::is_a_directory, Op::remove);
    REQUIRE_OS_ERROR(rmdir_file, std::errc::not_a_directory, Op::remove);
    CHECK(renamed);
    CHECK(old_gone);
    CHECK(new_there);
    CHECK(st_file.size == 3);
    CHECK(st_file.kind == FileKind::file);
    REQUIRE_OS_ERROR(rename_missing, std::errc::no_such_file_or_directory, Op::rename);
    CHECK(del_file);
    CHECK(closed);
    CHECK(del_dir);
    CHECK(cwd_close);
    CHECK(std::filesystem::is_empty(tmp.path()));
}

TEMPLATE_LIST_TEST_CASE("dirs: DirIterator and Dir::list see every entry once, across buffer refills", "[dirs]", Backends) {
    TempDir tmp;
    constexpr int files = 150;  // long names: far more than one 4 KiB buffer of records
    for (int i = 0; i < files; ++i) {
        std::string name = tmp / ("file-with-a-rather-long-name-to-fill-buffers-" + std::to_string(i));
        std::FILE* f = std::fopen(name.c_str(), "w");
        REQUIRE(f);
        std::fclose(f);
    }
    std::filesystem::create_directory(tmp / "a-directory");
    // Names are copied into strings reserved before the window, so the window itself allocates nothing.
    std::vector<std::string> iter_names(files + 8);
    for (auto& n : iter_names) n.reserve(64);
    std::size_t seen = 0;
    bool iter_ok = false, list_ok = false, dot_seen = false, dir_kind = false, files_kind = true, end_again = false;
    bool inodes = true;
    std::size_t list_size = 0;
    auto leak = measure<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        auto d = Dir::open(io, tmp.path());
        if (!d) return;
        DirIterator it(*d);
        for (;;) {
            auto e = it.next(io);
            if (!e) break;
            if (e->name.empty()) { iter_ok = true; break; }
            if (e->name == "." || e->name == "..") dot_seen = true;
            if (e->name == "a-directory") dir_kind = e->kind == FileKind::directory;
            else if (e->kind != FileKind::file) files_kind = false;
            if (e->inode == 0) inodes = false;
            if (seen < iter_names.size() && e->name.size() < 64) iter_names[seen].assign(e->name);
            ++seen;
        }
        auto again = it.next(io);
        end_again = again && again->name.empty();
        {
            auto l = d->list(io);
            list_ok = l.has_value();
            if (l) list_size = l->size();
        }
        (void)d->close(io);
    });
    REQUIRE_NO_LEAK(leak);
    REQUIRE(iter_ok);
    CHECK_FALSE(dot_seen);
    CHECK(dir_kind);
    CHECK(files_kind);
    CHECK(inodes);
    CHECK(end_again);
    REQUIRE(seen == files + 1);
    std::set<std::string> unique(iter_names.begin(), iter_names.begin() + seen);
    CHECK(unique.size() == files + 1);
    CHECK(unique.count("file-with-a-rather-long-name-to-fill-buffers-0") == 1);
    CHECK(unique.count("file-with-a-rather-long-name-to-fill-buffers-149") == 1);
    REQUIRE(list_ok);
    CHECK(list_size == files + 1);

    // list() returns the names themselves; checked outside the window (it keeps what it returns).
    zsync::BlockingIo rt;
    auto d = Dir::open(rt.io(), tmp.path());
    REQUIRE(d);
    auto l = d->list(rt.io());
    REQUIRE(l);
    std::set<std::string> from_list;
    for (auto& e : *l) from_list.insert(e.name);
    CHECK(from_list == unique);
    REQUIRE(d->close(rt.io()));
}

TEMPLATE_LIST_TEST_CASE("dirs: an empty directory lists nothing, dir_read errors", "[dirs]", Backends) {
    TempDir tmp;
    std::string file = tmp / "plain";
    { std::FILE* f = std::fopen(file.c_str(), "w"); std::fclose(f); }
    bool empty = false;
    ErrInfo on_file, bad_fd, misaligned;
    auto leak = measure<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        auto d = Dir::open(io, tmp.path());
        if (!d) return;
        (void)d->create_dir(io, "empty");
        auto e = d->open_dir(io, "empty");
        if (e) {
            auto l = e->list(io);
            empty = l && l->empty();
            (void)e->close(io);
        }
        auto f = File::open(io, file);
        if (f) {
            auto l = Dir{f->handle}.list(io);
            on_file = info_of(l);
            (void)f->close(io);
        }
        bad_fd = info_of(Dir{-1}.list(io));
        alignas(8) std::byte buf[256];
        Operation op = Operation::dir_read_into(d->handle, std::span(buf + 1, 200));
        misaligned = info_of(io.operate(op));
        (void)d->close(io);
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(empty);
    REQUIRE_OS_ERROR(on_file, std::errc::not_a_directory, Op::dir_read);
    REQUIRE_OS_ERROR(bad_fd, std::errc::bad_file_descriptor, Op::dir_read);
    REQUIRE_ZSYNC_ERROR(misaligned, Errc::invalid_argument, Op::dir_read);
}

TEMPLATE_LIST_TEST_CASE("dirs: walking the same Dir twice sees every entry both times", "[dirs]", Backends) {
    TempDir tmp;
    for (const char* n : {"one", "two", "three"}) { std::FILE* f = std::fopen((tmp / n).c_str(), "w"); std::fclose(f); }
    std::size_t first = 0, second = 0, iter_after = 0;
    bool ok = false;
    auto leak = measure<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        auto d = Dir::open(io, tmp.path());
        if (!d) return;
        auto a = d->list(io);
        auto b = d->list(io);
        DirIterator it(*d);
        for (;;) {
            auto e = it.next(io);
            if (!e || e->name.empty()) break;
            ++iter_after;
        }
        ok = a && b;
        if (ok) { first = a->size(); second = b->size(); }
        (void)d->close(io);
    });
    REQUIRE_NO_LEAK(leak);
    REQUIRE(ok);
    CHECK(first == 3);
    CHECK(second == 3);
    CHECK(iter_after == 3);
}
