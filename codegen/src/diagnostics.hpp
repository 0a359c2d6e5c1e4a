// Diagnostics of zsync-gen: every one names file:line:column, what is wrong, and a fix.
// The generator never emits a frame for a translation unit that produced an error.
#pragma once
#include <string>
#include <vector>

namespace clang {
class SourceManager;
class SourceLocation;
}  // namespace clang

namespace zsync_gen {

struct Diagnostic {
    std::string file;
    unsigned line = 0, column = 0;
    std::string message;  // what is wrong
    std::string fix;      // what to do instead (may be empty for notes)
    bool note = false;
};

class Diagnostics {
public:
    explicit Diagnostics(const clang::SourceManager* sm = nullptr) : sm_(sm) {}
    void set_source_manager(const clang::SourceManager* sm) { sm_ = sm; }
    void error(clang::SourceLocation at, std::string message, std::string fix);
    void note(clang::SourceLocation at, std::string message);
    // An error with no source position (bad command line, unreadable file).
    void error_no_location(std::string file, std::string message, std::string fix = {});
    bool has_errors() const { return errors_ > 0; }
    const std::vector<Diagnostic>& all() const { return list_; }
    // "file:line:col: error: message\n  fix: ...", one per diagnostic, in the order reported.
    std::string render() const;

private:
    const clang::SourceManager* sm_;
    std::vector<Diagnostic> list_;
    int errors_ = 0;
};

}  // namespace zsync_gen
