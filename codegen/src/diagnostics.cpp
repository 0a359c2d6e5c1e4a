#include "diagnostics.hpp"
#include <clang/Basic/SourceManager.h>

namespace zsync_gen {

namespace {
Diagnostic at_location(const clang::SourceManager* sm, clang::SourceLocation at) {
    Diagnostic d;
    if (sm && at.isValid()) {
        clang::PresumedLoc p = sm->getPresumedLoc(sm->getFileLoc(at));
        if (p.isValid()) {
            d.file = p.getFilename();
            d.line = p.getLine();
            d.column = p.getColumn();
        }
    }
    return d;
}
}  // namespace

void Diagnostics::error(clang::SourceLocation at, std::string message, std::string fix) {
    Diagnostic d = at_location(sm_, at);
    d.message = std::move(message);
    d.fix = std::move(fix);
    list_.push_back(std::move(d));
    ++errors_;
}

void Diagnostics::note(clang::SourceLocation at, std::string message) {
    Diagnostic d = at_location(sm_, at);
    d.message = std::move(message);
    d.note = true;
    list_.push_back(std::move(d));
}

void Diagnostics::error_no_location(std::string file, std::string message, std::string fix) {
    Diagnostic d;
    d.file = std::move(file);
    d.message = std::move(message);
    d.fix = std::move(fix);
    list_.push_back(std::move(d));
    ++errors_;
}

std::string Diagnostics::render() const {
    std::string out;
    for (const Diagnostic& d : list_) {
        out += d.file.empty() ? std::string("zsync-gen") : d.file;
        if (d.line) out += ":" + std::to_string(d.line) + ":" + std::to_string(d.column);
        out += d.note ? ": note: " : ": error: ";
        out += d.message;
        out += "\n";
        if (!d.fix.empty()) out += "  fix: " + d.fix + "\n";
    }
    return out;
}

}  // namespace zsync_gen
