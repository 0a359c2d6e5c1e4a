// A random program as program_gen builds it: functions whose bodies are statements kept as text with
// their nesting, so the printer only indents. All meaning (scopes, types, budgets) stays in the
// generator; this is what it hands over.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace pgen {

// A statement: a simple one is a single part with no body ("x = 1;"); a compound one has a part per
// head line, each followed by its nested statements ("if (c) {" then ..., "} else {" then ...), and a
// closing line ("}" or "} while (c);"). An unbraced body is a part whose head has no brace and no close.
struct Node {
    struct Part {
        std::string head;
        std::vector<Node> body;
    };
    std::vector<Part> parts;
    std::string close;
};

inline Node line(std::string text) { return Node{{{std::move(text), {}}}, {}}; }

struct Function {
    std::string signature;  // "Result<int> h3_1(Io io, int a)"
    bool annotated = false; // [[clang::annotate("zsync::stackless")]]
    std::vector<Node> body;
    int max_ops = 0;        // most Operations one call performs (an upper bound)
};

struct Program {
    int index = 0;
    std::uint64_t seed = 0;  // base seed + index: the program depends on nothing else
    int arg = 0;             // the argument the table passes to p_<index>
    std::vector<Function> helpers;  // in order: each calls only earlier ones
    Function main;                   // Result<int> p_<index>(Io io, int arg), annotated
};

}  // namespace pgen
