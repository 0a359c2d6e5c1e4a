// The zsync module: `import zsync;` gives the whole public surface.
export module zsync;
export import :error;
export import :result;
export import :time;
export import :operation;
export import :task;
export import :io;
export import :fs;
export import :net;
export import :blocking;
export import :pool;
