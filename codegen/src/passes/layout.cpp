#include "passes/layout.hpp"
#include <clang/AST/ASTContext.h>
#include <clang/AST/Decl.h>
#include <clang/AST/Stmt.h>
#include "names.hpp"

namespace zsync_gen {

namespace {

struct Agg {  // an aggregate being laid out (struct or union), Itanium rules for these members
    bool is_union = false;
    std::uint64_t offset = 0, size = 0, align = 1;
    void add(std::uint64_t s, std::uint64_t a) {
        if (a > align) align = a;
        if (is_union) {
            if (s > size) size = s;
        } else {
            offset = (offset + a - 1) / a * a + s;
            size = offset;
        }
    }
    std::uint64_t final_size() const { return (size + align - 1) / align * align; }
};

// The size of zsync::Operation, looked up in the translation unit (it is at most 64 bytes).
std::uint64_t operation_size(Context& cx, std::uint64_t& align) {
    auto& ids = cx.ast.Idents;
    for (clang::NamedDecl* ns : cx.ast.getTranslationUnitDecl()->lookup(&ids.get("zsync")))
        if (auto* n = llvm::dyn_cast<clang::NamespaceDecl>(ns))
            for (clang::NamedDecl* d : n->lookup(&ids.get("Operation")))
                if (auto* rd = llvm::dyn_cast<clang::RecordDecl>(d); rd && rd->getDefinition()) {
                    auto info = cx.ast.getTypeInfoInChars(cx.ast.getRecordType(rd->getDefinition()));
                    align = info.Align.getQuantity();
                    return info.Width.getQuantity();
                }
    align = 8;
    return 64;  // not found: the static_assert on the frame's size will say so
}

bool holds(Scope* s) {
    bool any = !s->embedded.empty() || !s->lifted.empty();
    for (const FrameVar* v : s->vars) any = any || v->kind != FrameVar::Kind::result;  // the NRVO object lives in the result
    for (Scope* c : s->children) any = holds(c) || any;
    s->holds_storage = any;
    return any;
}

// Lays out scope `s` as a struct; returns {size, align}.
std::pair<std::uint64_t, std::uint64_t> scope_struct(Scope* s, int& counter) {
    Agg a;
    for (FrameVar* v : s->vars) {
        v->member = names::var(v->decl->getName().str(), counter++);
        v->path = s->path + (s->path.empty() ? "" : ".") + v->member;
        if (v->kind != FrameVar::Kind::result) a.add(v->size, v->align);
    }
    Agg u;
    u.is_union = true;
    bool any_union = false;
    const std::string upath = s->path + (s->path.empty() ? "" : ".") + names::union_member;
    for (Scope* c : s->children) {
        if (!c->holds_storage) continue;
        c->member = names::scope(counter++);
        c->path = upath + "." + c->member;
        auto [cs, ca] = scope_struct(c, counter);
        u.add(cs, ca);
        any_union = true;
    }
    for (SuspendPoint* p : s->embedded) {
        p->storage_member = names::point(p->state);
        p->storage_path = upath + "." + p->storage_member;
        Agg ps;
        ps.add(p->callee->size, p->callee->align);
        if (p->needs_value) ps.add(p->callee->result_size, p->callee->result_align);
        u.add(ps.final_size(), ps.align);
        any_union = true;
    }
    for (LiftedStatement* l : s->lifted) {
        // Its temporaries, their flags, the condition's value, and the frames of its callees (one at a
        // time: each finishes before the next starts, its value already in a temporary).
        l->member = "zs_l" + std::to_string(counter++);
        l->path = upath + "." + l->member;
        Agg ls;
        for (auto& t : l->temps) {
            t->member = "zs_t" + std::to_string(counter++);
            t->path = l->path + "." + t->member;
            ls.add(t->size, t->align);
            if (t->needs_destroy && !t->guards.empty()) {
                t->flag_member = t->member + "_made";
                t->flag_path = l->path + "." + t->flag_member;
                ls.add(1, 1);
            }
        }
        if (!l->cond_type.empty()) ls.add(l->cond_size, l->cond_align);
        Agg callees;
        callees.is_union = true;
        bool any_callee = false;
        for (SuspendPoint* p : l->points) {
            if (p->kind != SuspendKind::embedded || !p->callee) continue;
            p->storage_member = names::point(p->state);
            p->storage_path = l->path + "." + names::union_member + "." + p->storage_member;
            callees.add(p->callee->size, p->callee->align);
            any_callee = true;
        }
        if (any_callee) ls.add(callees.final_size(), callees.align);
        if (ls.size == 0) ls.add(1, 1);
        u.add(ls.final_size(), ls.align);
        any_union = true;
    }
    if (any_union) a.add(u.final_size(), u.align);
    if (a.size == 0) return {0, 1};
    return {a.final_size(), a.align};
}

}  // namespace

void lay_out(Context& cx, FunctionModel& m) {
    if (m.laid_out) return;
    for (FunctionModel* c : m.callees) lay_out(cx, *c);
    for (auto& l : m.lifted)
        if (l->scope) l->scope->lifted.push_back(l.get());
    for (auto& p : m.points) {
        if (p->kind != SuspendKind::embedded || !p->callee || !p->scope || p->lifted) continue;
        p->scope->embedded.push_back(p.get());
        // The callee constructs its result in place when it initialises a local of its own type or is
        // returned as it is (copy elision); otherwise the frame keeps it in a temporary slot.
        const clang::QualType rt = p->callee->decl->getReturnType().getNonReferenceType();
        bool direct = p->callee->returns_void;
        if (const auto* d = llvm::dyn_cast_or_null<clang::DeclStmt>(p->statement); d && d->isSingleDecl())
            if (const auto* v = llvm::dyn_cast<clang::VarDecl>(d->getSingleDecl()))
                if (auto it = m.var_of.find(v); it != m.var_of.end() && it->second->kind != FrameVar::Kind::pointer)
                    direct = direct || cx.ast.hasSameUnqualifiedType(rt, v->getType().getNonReferenceType());
        if (llvm::isa_and_nonnull<clang::ReturnStmt>(p->statement) && !m.returns_void)
            direct = direct || cx.ast.hasSameUnqualifiedType(rt, m.decl->getReturnType().getNonReferenceType());
        p->needs_value = !direct;
    }

    Agg frame;
    frame.add(4, 4);
    m.layout.push_back({"state", 4});
    if (!m.returns_void) {
        frame.add(8, 8);
        m.layout.push_back({"result pointer", 8});
    }
    if (m.has_self) {
        frame.add(8, 8);
        m.layout.push_back({"object pointer (this)", 8});
    }
    if (m.exceptions) {
        for (auto& v : m.vars)
            if ((v->kind == FrameVar::Kind::slot && v->needs_destroy) || v->kind == FrameVar::Kind::result) v->alive_bit = m.alive_count++;
        for (auto& l : m.lifted)
            for (auto& t : l->temps)
                if (t->needs_destroy && t->kind == LiftTemp::Kind::value) t->alive_bit = m.alive_count++;
        if (m.alive_count) {
            const std::uint64_t words = (m.alive_count + 63) / 64;
            frame.add(8 * words, 8);
            m.layout.push_back({"constructed-object bits (unwinding on an exception)", 8 * words});
        }
    }
    if (m.uses_operation) {
        std::uint64_t oa = 8;
        std::uint64_t os = operation_size(cx, oa);
        frame.add(os, oa);
        m.layout.push_back({"pending Operation", os});
    }
    int counter = 0;
    for (FrameVar* p : m.params) {
        p->member = names::param(p->decl->getName().empty() ? "unnamed" : p->decl->getName().str(), counter++);
        p->path = p->member;
        if (p->kind == FrameVar::Kind::dead) {
            m.layout.push_back({"parameter " + p->decl->getName().str() + " (never read by the frame: not stored)", 0});
            continue;
        }
        frame.add(p->size, p->align);
        m.layout.push_back({"parameter " + p->decl->getName().str(), p->size});
    }
    Scope* fn = m.scopes[0].get();
    holds(fn);
    fn->path = "";
    auto [ss, sa] = scope_struct(fn, counter);
    if (ss) {
        frame.add(ss, sa);
        m.layout.push_back({"locals and callee frames (overlapping where lifetimes do not)", ss});
    }
    m.size = frame.final_size();
    m.align = frame.align;
    m.laid_out = true;
}

}  // namespace zsync_gen
