// Instrumented objects for zsync-gen's differential tests: every construction, copy, move, assignment
// and destruction is appended to one event log, with ids numbered from 1 in construction order, so a
// plain run and a frame run of the same function can be compared event by event. Single-threaded
// (the harness runs on BlockingIo).
#pragma once
#include <string>
#include <vector>

namespace gen_test {

struct Events {
    std::vector<std::string> log;
    int next_id = 1;
    int live = 0;
    // Releases the log's memory too, so leak checks around a run see none of it.
    void reset() {
        std::vector<std::string>().swap(log);  // not `log = {}`: that assigns an empty list and keeps the capacity
        next_id = 1;
        live = 0;
    }
};
inline Events events;

class Tracked {
public:
    explicit Tracked(int value = 0) : id_(events.next_id++), value_(value) { note("make", -1); }
    Tracked(const Tracked& o) : id_(events.next_id++), value_(o.value_) { note("copy", o.id_); }
    Tracked(Tracked&& o) noexcept : id_(events.next_id++), value_(o.value_) {
        note("move", o.id_);
        o.value_ = -1;
    }
    Tracked& operator=(const Tracked& o) {
        value_ = o.value_;
        events.log.push_back("copy-assign " + std::to_string(o.id_) + "->" + std::to_string(id_));
        return *this;
    }
    Tracked& operator=(Tracked&& o) noexcept {
        value_ = o.value_;
        o.value_ = -1;
        events.log.push_back("move-assign " + std::to_string(o.id_) + "->" + std::to_string(id_));
        return *this;
    }
    ~Tracked() {
        events.log.push_back("drop " + std::to_string(id_) + " (" + std::to_string(value_) + ")");
        --events.live;
    }
    int value() const { return value_; }
    void set(int v) { value_ = v; }

private:
    void note(const char* what, int from) {
        ++events.live;
        events.log.push_back(std::string(what) + " " + std::to_string(id_) + (from >= 0 ? " from " + std::to_string(from) : "") +
                             " (" + std::to_string(value_) + ")");
    }
    int id_;
    int value_;
};

}  // namespace gen_test
