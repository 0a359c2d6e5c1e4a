#include "context.hpp"
#include <clang/AST/ASTContext.h>
#include <clang/AST/Decl.h>
#include <clang/AST/DeclCXX.h>
#include <clang/AST/PrettyPrinter.h>
#include <clang/Basic/SourceManager.h>
#include <clang/Lex/Lexer.h>
#include <clang/Rewrite/Core/Rewriter.h>

namespace zsync_gen {

unsigned Context::offset(clang::SourceLocation loc) const { return sm.getFileOffset(sm.getFileLoc(loc)); }

std::string Context::text(const clang::Stmt* s) const {
    auto range = clang::CharSourceRange::getTokenRange(s->getSourceRange());
    return clang::Lexer::getSourceText(range, sm, lang).str();
}

std::string Context::rewritten(const clang::Stmt* s) const { return rewritten(s->getSourceRange()); }

// A token range's end is mapped through the edits as a character position after its last token: the
// Rewriter maps a token range's last token by its start, which cuts a replaced last token short.
std::string Context::rewritten(clang::SourceRange r) const {
    clang::SourceLocation end = clang::Lexer::getLocForEndOfToken(r.getEnd(), 0, sm, lang);
    return scratch.getRewrittenText(clang::CharSourceRange::getCharRange(r.getBegin(), end));
}

std::string Context::type_name(clang::QualType t) const {
    clang::PrintingPolicy pp(lang);
    pp.SuppressUnwrittenScope = true;  // no "(anonymous namespace)::": frames sit in the same namespace
    pp.FullyQualifiedName = true;
    pp.PrintCanonicalTypes = true;
    pp.SuppressTagKeyword = true;
    pp.AlwaysIncludeTypeForTemplateArgument = true;  // 18446744073709551615UL, not a signed overflow
    pp.SuppressScope = false;
    std::string s = t.getCanonicalType().getAsString(pp);
    // A fully qualified global name prints without the leading "::"; add it to class types so a
    // member or local of the same name never hides them.
    return s;
}

bool Context::type_unnameable(clang::QualType t) const {
    std::string s = type_name(t);
    if (s.find("(lambda") != std::string::npos || s.find("(unnamed") != std::string::npos ||
        s.find("(anonymous") != std::string::npos)
        return true;
    const clang::Type* ty = t.getCanonicalType().getTypePtr();
    while (ty && (ty->isPointerType() || ty->isReferenceType() || ty->isArrayType())) {
        if (ty->isArrayType()) ty = ty->getArrayElementTypeNoTypeQual();
        else ty = ty->getPointeeType().getTypePtr();
    }
    if (const auto* tag = ty ? ty->getAsTagDecl() : nullptr) {
        if (tag->getDeclContext()->isFunctionOrMethod()) return true;  // a local class
        if (tag->getName().empty() && !tag->getTypedefNameForAnonDecl()) return true;
    }
    return false;
}

std::string qualified_name(const clang::FunctionDecl* f) {
    std::string s;
    llvm::raw_string_ostream os(s);
    clang::PrintingPolicy pp(f->getASTContext().getLangOpts());
    pp.SuppressUnwrittenScope = true;
    f->printQualifiedName(os, pp);
    return os.str();
}

bool is_zsync_io(clang::QualType t) {
    t = t.getNonReferenceType().getCanonicalType();
    const auto* rd = t->getAsCXXRecordDecl();
    if (!rd || rd->getName() != "Io") return false;
    const auto* ns = llvm::dyn_cast<clang::NamespaceDecl>(rd->getDeclContext());
    return ns && ns->getName() == "zsync" && ns->getParent()->getRedeclContext()->isTranslationUnit();
}

}  // namespace zsync_gen
