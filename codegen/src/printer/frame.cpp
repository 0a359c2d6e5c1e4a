// The frame struct around a printed body: members laid out by passes/layout, zs_start (how the ABI
// constructs a frame from a task's arguments), zs_resume, zs_destroy (what is alive at each
// suspension point, innermost first), and for annotated functions the descriptor, its registration
// and the frame_of specialisation with the static_assert that ties sizeof to the generator's report.
#include <clang/AST/ASTContext.h>
#include <clang/AST/Decl.h>
#include <clang/AST/DeclCXX.h>
#include "names.hpp"
#include "printer/printer.hpp"

namespace zsync_gen {

namespace {

std::string member_decl(const FrameVar& v) {
    switch (v.kind) {
    case FrameVar::Kind::slot: return "::zsync::gen::Slot<" + v.type + "> " + v.member + "; ";
    case FrameVar::Kind::plain: return "::zsync::gen::Plain<" + v.type + "> " + v.member + "; ";
    case FrameVar::Kind::pointer: return "::zsync::gen::Plain<" + v.type + ">* " + v.member + "; ";
    case FrameVar::Kind::result:
    case FrameVar::Kind::dead: return {};
    }
    return {};
}

std::string scope_members(const Scope& s) {
    std::string out;
    for (const FrameVar* v : s.vars) out += member_decl(*v);
    std::string u;
    for (const Scope* c : s.children)
        if (c->holds_storage) u += "struct { " + scope_members(*c) + "} " + c->member + "; ";
    for (const SuspendPoint* p : s.embedded) {
        const FunctionModel& c = *p->callee;
        u += "struct { ::zsync::gen::Storage<" + std::to_string(c.size) + ", " + std::to_string(c.align) + "> frame; ";
        if (p->needs_value) u += "::zsync::gen::Slot<" + c.result_type + "> value; ";
        u += "} " + p->storage_member + "; ";
    }
    for (const LiftedStatement* l : s.lifted) {
        std::string ls;
        for (auto& t : l->temps) {
            if (t->kind == LiftTemp::Kind::pointer) ls += "::zsync::gen::Plain<" + t->type + ">* " + t->member + "; ";
            else if (t->kind == LiftTemp::Kind::boolean) ls += "bool " + t->member + "; ";
            else ls += "::zsync::gen::Slot<" + t->type + "> " + t->member + "; ";
            if (!t->flag_member.empty()) ls += "bool " + t->flag_member + "; ";
        }
        if (!l->cond_type.empty()) ls += "::zsync::gen::Plain<" + l->cond_type + "> zs_cond; ";
        std::string callees;
        for (const SuspendPoint* p : l->points)
            if (p->kind == SuspendKind::embedded && p->callee)
                callees += "struct { ::zsync::gen::Storage<" + std::to_string(p->callee->size) + ", " +
                           std::to_string(p->callee->align) + "> frame; } " + p->storage_member + "; ";
        if (!callees.empty()) ls += "union { " + callees + "} " + names::union_member + "; ";
        if (ls.empty()) ls = "char zs_empty; ";
        u += "struct { " + ls + "} " + l->member + "; ";
    }
    if (!u.empty()) out += "union { " + u + "} " + names::union_member + "; ";
    return out;
}

std::string destroy_function(Context& cx, FunctionModel& m) {
    std::string out = "static void zs_destroy(void* zs_mem) noexcept { auto* fr = ::zsync::gen::frame_at<" + m.frame_name +
                      ">(zs_mem); switch (fr->" + names::state + ") { case -2: return; case -1: break; case 0: break; ";
    for (auto& p : m.points) {
        if (!p->statement) continue;
        out += "case " + std::to_string(p->state) + ": ";
        if (p->kind == SuspendKind::embedded)
            out += p->callee->frame_qualified + "::zs_destroy(&fr->" + p->storage_path + ".frame); ";
        if (p->lifted) out += lifted_cleanup(*p->lifted, p->temp);
        out += cleanup_text(cx, m, p->call, nullptr);
        out += "break; ";
    }
    out += "default: __builtin_trap(); } ";
    for (auto it = m.params.rbegin(); it != m.params.rend(); ++it) out += destroy_text(m, **it);
    out += "fr->" + std::string(names::state) + " = -2; } ";  // -2: nothing left (destroy twice is harmless)
    return out;
}

// Every constructed object of the frame, innermost (last declared) first, then the parameters.
std::string unwind_all(const FunctionModel& m) {
    std::vector<std::pair<unsigned, std::string>> items;  // (order, text)
    unsigned order = 0;
    std::string params;
    for (auto it = m.params.rbegin(); it != m.params.rend(); ++it) params += if_alive((*it)->alive_bit, destroy_text(m, **it));
    for (auto& v : m.vars)
        if (!v->parameter) items.push_back({order++, if_alive(v->alive_bit, destroy_text(m, *v))});
    for (auto& l : m.lifted)
        for (auto& t : l->temps)
            if (t->alive_bit >= 0)
                items.push_back({order++, if_alive(t->alive_bit, "fr->" + t->path + ".destroy(); " + mark_dead(t->alive_bit))});
    std::string out;
    for (auto it = items.rbegin(); it != items.rend(); ++it) out += it->second;
    return out + params;
}

std::string start_function(FunctionModel& m) {
    std::string out = "static void zs_start(void* zs_mem";
    if (!m.returns_void) out += ", " + m.result_type + "* zs_dest";
    for (FrameVar* p : m.params) out += ", ::zsync::gen::Plain<" + p->type + ">& " + p->member;
    out += ") noexcept { auto* fr = ::zsync::gen::begin_frame<" + m.frame_name + ">(zs_mem); fr->" + names::state + " = 0; ";
    out += clear_alive(m, "fr");
    if (!m.returns_void) out += std::string("fr->") + names::dest + " = zs_dest; ";
    for (FrameVar* p : m.params) {
        if (p->kind == FrameVar::Kind::dead) continue;
        if (p->kind == FrameVar::Kind::pointer) out += "fr->" + p->path + " = &" + p->member + "; ";
        else out += "::zsync::gen::emplace(fr->" + p->path + ".ptr(), [&]() -> " + p->type + " { return static_cast<" + p->type +
                    "&&>(" + p->member + "); }); " + mark_alive(p->alive_bit);
    }
    return out + "} ";
}

}  // namespace

PrintedFrame print_frame(Context& cx, FunctionModel& m) {
    PrintedFrame out;
    std::string& s = out.in_namespace;
    s += "// zsync-gen: the stackless frame of " + m.name + " (" + std::to_string(m.size) + " bytes)\n";
    s += "struct " + m.frame_name + " { int " + names::state + "; ";
    if (!m.returns_void) s += m.result_type + "* " + names::dest + "; ";
    if (m.has_self) s += m.self_type + "* zs_self; ";
    if (m.alive_count) s += "unsigned long long zs_alive[" + std::to_string((m.alive_count + 63) / 64) + "]; ";
    if (m.uses_operation) s += std::string("::zsync::Operation ") + names::operation + "; ";
    for (FrameVar* p : m.params) s += member_decl(*p);
    s += scope_members(*m.scopes[0]);
    s += "\n";
    if (!m.member_of) s += start_function(m) + "\n";  // members are embedded only (no task entry)
    // resume: a dispatch on the state, then the body. An exception-aware frame runs them in a try whose
    // handler destroys what is constructed and rethrows (to the caller frame, or the descriptor, which
    // reports task_threw); a suspension inside a user's try is reached through that try's own dispatch.
    s += std::string("static ::zsync::Operation* zs_resume(void* zs_mem)") + (m.exceptions ? "" : " noexcept") +
         " { auto* fr = ::zsync::gen::frame_at<" + m.frame_name + ">(zs_mem); ";
    if (!m.tries.empty()) s += "bool zs_resuming = true; ";
    if (m.exceptions) s += "try { ";
    s += "switch (fr->" + std::string(names::state) + ") { case 0: break; ";
    for (auto& p : m.points)
        if (p->statement) s += "case " + std::to_string(p->state) + ": goto " + dispatch_target(m, *p, nullptr) + "; ";
    s += "default: __builtin_trap(); }\n";
    s += body_text(cx, m);
    s += m.returns_void ? finish_tail(m) : std::string("__builtin_trap();");
    if (m.exceptions) s += "\n} catch (...) { " + unwind_all(m) + "fr->" + names::state + " = -2; throw; }";
    s += "\n}\n";
    s += destroy_function(cx, m) + "\n};\n";
    s += "static_assert(sizeof(" + m.frame_name + ") == " + std::to_string(m.size) + " && alignof(" + m.frame_name +
         ") == " + std::to_string(m.align) + ", \"zsync-gen: the frame of " + m.name +
         " is not the size the generator reported\");\n";
    out.frame_size = m.size;
    if (!m.annotated || !m.in_main_file || m.member_of) return out;  // embedded only: the function that embeds it is registered

    // The descriptor: frame_size<F> is the frame, the result it constructs in place, and (when F takes
    // references) the argument block they point into.
    bool keep_args = false;
    for (FrameVar* p : m.params) keep_args = keep_args || p->kind == FrameVar::Kind::pointer;
    const std::string fp = cx.type_name(cx.ast.getPointerType(m.decl->getType()));
    const std::string fn = "static_cast<" + fp + ">(&" + m.decl->getNameAsString() + ")";
    const std::string abi = "::zsync::gen::Abi<" + fn + ", " + m.frame_name + ", " + (m.returns_void ? "void" : m.result_type) +
                            ", " + (keep_args ? "true" : "false") + ">";
    const std::string desc = names::descriptor(m.frame_name);
    s += "inline constexpr ::zsync::FrameDescriptor " + desc + " = " + abi + "::describe(\"" + m.name + "\");\n";
    s += "inline ::zsync::FrameRegistration " + names::registration(m.frame_name) + "{::zsync::function_identity(" + fn +
         "), &" + desc + "};\n";
    s += "[[maybe_unused]] static const bool " + m.frame_name + "_registered = ::zsync::register_frame(" +
         names::registration(m.frame_name) + ");\n";

    // frame_size<F> as reported: Top = {frame, result slot or empty, args or empty, bool}.
    std::uint64_t size = m.size, align = m.align;
    auto add = [&](std::uint64_t sz, std::uint64_t al) {
        if (al > align) align = al;
        size = (size + al - 1) / al * al + sz;
    };
    if (m.returns_void) add(1, 1);
    else add(m.result_size, m.result_align);
    add(1, 1);  // the argument block is counted below when kept
    add(1, 1);  // taken
    add(1, 1);  // threw
    size = (size + align - 1) / align * align;
    out.frame_size = size;

    std::string qualified_ns;
    for (const clang::DeclContext* c = m.decl->getDeclContext(); c && !c->isTranslationUnit(); c = c->getParent())
        if (const auto* ns = llvm::dyn_cast<clang::NamespaceDecl>(c); ns && !ns->isAnonymousNamespace())
            qualified_ns = ns->getNameAsString() + "::" + qualified_ns;
    const std::string qfn = "static_cast<" + fp + ">(&::" + qualified_ns + m.decl->getNameAsString() + ")";
    std::string& g = out.at_global_scope;
    g += "template <> struct zsync::frame_of<" + qfn + "> { static constexpr bool generated = true; "
         "static constexpr decltype(sizeof 0) size = ::" + qualified_ns + desc + ".size, align = ::" + qualified_ns + desc +
         ".align; static constexpr const ::zsync::FrameDescriptor* descriptor = &::" + qualified_ns + desc + "; };\n";
    if (!keep_args)
        g += "static_assert(::zsync::frame_size<" + qfn + "> == " + std::to_string(size) + ", \"zsync-gen: frame_size<" + m.name +
             "> is not the size the generator reported\");\n";
    m.layout.push_back({"frame_size (frame + result + ABI bookkeeping" + std::string(keep_args ? " + argument block" : "") + ")", size});
    return out;
}

}  // namespace zsync_gen
