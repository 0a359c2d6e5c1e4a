// A class whose copies and moves can be seen (a user-provided copy constructor and destructor), small
// enough for a golden test.
#pragma once
struct Text {
    Text() {}
    Text(const Text&) {}
    ~Text() {}
};
