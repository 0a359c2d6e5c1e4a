// Every identifier zsync-gen invents, in one place. All start with zs_ / zsync_frame_ so they never
// collide with a user's (names starting with zs_ are reserved in annotated functions by docs/generator.md).
#pragma once
#include <string>

namespace zsync_gen::names {

inline std::string frame(const std::string& function, int n) {
    return "zsync_frame_" + function + (n ? "_" + std::to_string(n) : std::string());
}
inline std::string var(const std::string& name, int n) { return "zs_v" + std::to_string(n) + "_" + name; }
inline std::string param(const std::string& name, int n) { return "zs_a" + std::to_string(n) + "_" + name; }
inline std::string scope(int n) { return "zs_s" + std::to_string(n); }
inline std::string point(int state) { return "zs_p" + std::to_string(state); }
inline std::string resume_label(int state) { return "zs_resume_" + std::to_string(state); }
inline std::string continue_label(const std::string& lifted_member) { return lifted_member + "_continue"; }
inline std::string descriptor(const std::string& frame) { return frame + "_descriptor"; }
inline std::string registration(const std::string& frame) { return frame + "_registration"; }
inline const char* union_member = "zs_u";
inline const char* state = "zs_state";
inline const char* dest = "zs_dest";
inline const char* operation = "zs_op";
inline const char* self = "fr";

}  // namespace zsync_gen::names
