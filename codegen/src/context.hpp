// What every pass and the printer share for one translation unit.
#pragma once
#include <map>
#include <memory>
#include <string>
#include "diagnostics.hpp"
#include "model.hpp"

namespace clang {
class ASTContext;
class SourceManager;
class LangOptions;
class Rewriter;
class ParentMap;
class QualType;
class SourceLocation;
class SourceRange;
class Stmt;
}  // namespace clang

namespace zsync_gen {

// Debug option: plant one of three known bugs in the output, so tests prove the differential harness
// catches them (issue 5 §2, issue 6 §4): 1 drops a destructor; 2 swaps two suspending calls; 3
// evaluates the side of && that C++ skips (a lifted call loses its guard).
enum class PlantedBug { none = 0, drop_destructor = 1, swap_calls = 2, eval_skipped_and = 3 };

struct Options {
    PlantedBug plant = PlantedBug::none;
};

struct Context {
    clang::ASTContext& ast;
    clang::SourceManager& sm;
    const clang::LangOptions& lang;
    Diagnostics& diags;
    const Options& options;
    clang::Rewriter& scratch;  // expression-level edits for frame bodies (never the output)
    std::map<const clang::FunctionDecl*, std::unique_ptr<FunctionModel>> models;
    // The token-level edits also applied to `scratch` (frame locals, captures), by source characters:
    // begin -> (end, text). Lifted statements are rendered from these (printer/statements.cpp).
    std::map<const char*, std::pair<const char*, std::string>> token_edits;

    // Offsets in the main file (for source order and lifetimes).
    unsigned offset(clang::SourceLocation loc) const;
    std::string text(const clang::Stmt* s) const;           // original text
    std::string rewritten(const clang::Stmt* s) const;      // text with scratch edits
    std::string rewritten(clang::SourceRange r) const;
    std::string type_name(clang::QualType t) const;         // printable from anywhere in the file
    bool type_unnameable(clang::QualType t) const;
};

// "zsync::File::read" for a function, "" for something unnamed.
std::string qualified_name(const clang::FunctionDecl* f);
bool is_zsync_io(clang::QualType t);

}  // namespace zsync_gen
