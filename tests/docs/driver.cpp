// Runs one example of docs/reference/ (`doc_examples <page>.<n>`, or `--list`): in a fresh temporary
// directory, with its standard output captured. Passes when the example returns 0 and, where the page
// shows its output, prints exactly that. Prints the difference otherwise.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <fcntl.h>
#include <unistd.h>
#include "doc_example.hpp"

namespace {

int run_captured(const zsync_doc::Example& e, std::string& out) {
    namespace fs = std::filesystem;
    char tmpl[] = "/tmp/zsync-doc.XXXXXX";
    const char* dir = ::mkdtemp(tmpl);
    if (!dir) { std::perror("doc_examples: mkdtemp"); return 2; }
    const fs::path old_cwd = fs::current_path();
    fs::current_path(dir);
    const std::string capture = std::string(dir) + "/.stdout";
    std::fflush(stdout);
    const int saved = ::dup(1);
    const int fd = ::open(capture.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (saved < 0 || fd < 0 || ::dup2(fd, 1) < 0) { std::perror("doc_examples: redirect"); return 2; }
    ::close(fd);
    const int rc = e.run();
    std::fflush(stdout);
    ::dup2(saved, 1);
    ::close(saved);
    std::ifstream in(capture, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    out = ss.str();
    fs::current_path(old_cwd);
    std::error_code ec;
    fs::remove_all(dir, ec);
    return rc;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: doc_examples <page>.<n> | --list\n");
        return 2;
    }
    for (const zsync_doc::Example* e = zsync_doc::examples; e->name; ++e) {
        if (std::strcmp(argv[1], "--list") == 0) { std::puts(e->name); continue; }
        if (std::strcmp(argv[1], e->name) != 0) continue;
        std::string out;
        const int rc = run_captured(*e, out);
        std::fputs(out.c_str(), stdout);
        if (rc != 0) {
            std::fprintf(stderr, "doc_examples: %s returned %d\n", e->name, rc);
            return 1;
        }
        if (e->has_expected && out != e->expected) {
            std::fprintf(stderr, "doc_examples: %s printed something else than the page shows.\n--- page:\n%s--- printed:\n%s---\n",
                         e->name, e->expected, out.c_str());
            return 1;
        }
        return 0;
    }
    if (std::strcmp(argv[1], "--list") == 0) return 0;
    std::fprintf(stderr, "doc_examples: no example named %s\n", argv[1]);
    return 2;
}
