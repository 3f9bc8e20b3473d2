// Restricted unpickler for torch.save's data.pkl: a stack machine over the opcodes torch writes
// (protocol 2, plus the protocol 4/5 framing ops) that builds PickleValues. Globals are looked up
// in a fixed allow-list and interpreted here; nothing from the file is ever executed.
#include "asr/io/unpickler.h"

#include <cctype>
#include <cstring>
#include <unordered_map>

#include "asr/core/error.h"

namespace asr::io {

const char* PickleValue::kind_name() const {
  switch (kind) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::String: return "str";
    case Kind::Bytes: return "bytes";
    case Kind::Tuple: return "tuple";
    case Kind::List: return "list";
    case Kind::Dict: return "dict";
    case Kind::Global: return "global";
    case Kind::Storage: return "storage";
    case Kind::Tensor: return "tensor";
    case Kind::Object: return "object";
  }
  return "?";
}

PickleValue::~PickleValue() {
  // Children whose last reference we hold are drained before they die, so no destructor ever
  // recurses more than one level.
  std::vector<std::shared_ptr<PickleValue>> work;
  auto drain = [&work](PickleValue& v) {
    for (auto& it : v.items) work.push_back(std::move(it));
    for (auto& [k, val] : v.dict) {
      work.push_back(std::move(k));
      work.push_back(std::move(val));
    }
    v.items.clear();
    v.dict.clear();
  };
  drain(*this);
  while (!work.empty()) {
    std::shared_ptr<PickleValue> p = std::move(work.back());
    work.pop_back();
    if (p && p.use_count() == 1) drain(*p);
  }
}

namespace {

using Kind = PickleValue::Kind;

// torch.<X>Storage -> element type. Other storage types (Byte, Char, Short, complex, quantized)
// never occur in ASR checkpoints and are refused like any unknown global.
bool storage_dtype(const std::string& global, DType& out) {
  static const std::pair<const char*, DType> table[] = {
      {"torch.FloatStorage", DType::F32},   {"torch.HalfStorage", DType::F16},
      {"torch.BFloat16Storage", DType::BF16}, {"torch.DoubleStorage", DType::F64},
      {"torch.LongStorage", DType::I64},    {"torch.IntStorage", DType::I32},
      {"torch.BoolStorage", DType::Bool}};
  for (const auto& [name, dt] : table)
    if (global == name) {
      out = dt;
      return true;
    }
  return false;
}

bool allowed_global(const std::string& g) {
  DType unused;
  return g == "collections.OrderedDict" || g == "torch._utils._rebuild_tensor_v2" ||
         g == "torch._utils._rebuild_parameter" || g == "torch._utils._rebuild_parameter_with_state" ||
         storage_dtype(g, unused);
}

class Unpickler {
 public:
  Unpickler(const std::string& bytes, const std::string& source, const UnpickleOptions& extra)
      : in_(bytes), src_(source), extra_(extra) {}

  PickleValuePtr run() {
    while (true) {
      const size_t at = pos_;
      const uint8_t op = u8();
      op_at_ = at;
      switch (op) {
        case 0x80: u8(); break;            // PROTO
        case 0x95: take(8); break;         // FRAME (length only; data follows inline)
        case '.': return finish();         // STOP
        case '(': marks_.push_back(stack_.size()); break;  // MARK
        case '0': pop(); break;            // POP
        case '1': pop_mark(); break;       // POP_MARK
        case '2': push(top()); break;      // DUP
        case 'N': push(make(Kind::None)); break;
        case 0x88: push_bool(true); break;   // NEWTRUE
        case 0x89: push_bool(false); break;  // NEWFALSE
        case 'J': push_int(static_cast<int32_t>(le(4))); break;  // BININT
        case 'K': push_int(static_cast<int64_t>(le(1))); break;  // BININT1
        case 'M': push_int(static_cast<int64_t>(le(2))); break;  // BININT2
        case 0x8a: push_int(long_int(le(1))); break;             // LONG1
        case 0x8b: push_int(long_int(le(4))); break;             // LONG4
        case 'G': push_float(); break;                           // BINFLOAT
        case 'X': push_str(Kind::String, le(4)); break;          // BINUNICODE
        case 0x8c: push_str(Kind::String, le(1)); break;         // SHORT_BINUNICODE
        case 0x8d: push_str(Kind::String, le(8)); break;         // BINUNICODE8
        case 'T': push_str(Kind::String, le(4)); break;          // BINSTRING (py2 str)
        case 'U': push_str(Kind::String, le(1)); break;          // SHORT_BINSTRING
        case 'B': push_str(Kind::Bytes, le(4)); break;           // BINBYTES
        case 'C': push_str(Kind::Bytes, le(1)); break;           // SHORT_BINBYTES
        case 0x8e: push_str(Kind::Bytes, le(8)); break;          // BINBYTES8
        case ')': push(make(Kind::Tuple)); break;                // EMPTY_TUPLE
        case 't': push(seq(Kind::Tuple, pop_mark())); break;     // TUPLE
        case 0x85: push(seq(Kind::Tuple, pop_n(1))); break;      // TUPLE1
        case 0x86: push(seq(Kind::Tuple, pop_n(2))); break;      // TUPLE2
        case 0x87: push(seq(Kind::Tuple, pop_n(3))); break;      // TUPLE3
        case ']': push(make(Kind::List)); break;                 // EMPTY_LIST
        case 'l': push(seq(Kind::List, pop_mark())); break;      // LIST
        case 'a': append(pop_n(1)); break;                       // APPEND
        case 'e': append(pop_mark()); break;                     // APPENDS
        case 0x8f: push(make(Kind::List)); break;                // EMPTY_SET (kept as a list)
        case 0x90: append(pop_mark()); break;                    // ADDITEMS
        case 0x91: push(seq(Kind::List, pop_mark())); break;     // FROZENSET
        case '}': push(make(Kind::Dict)); break;                 // EMPTY_DICT
        case 'd': {                                              // DICT
          PickleValuePtr d = make(Kind::Dict);
          set_items(d, pop_mark());
          push(d);
          break;
        }
        case 's': {  // SETITEM
          std::vector<PickleValuePtr> kv = pop_n(2);
          set_items(expect(top(), Kind::Dict), std::move(kv));
          break;
        }
        case 'u': {  // SETITEMS
          std::vector<PickleValuePtr> kv = pop_mark();
          set_items(expect(top(), Kind::Dict), std::move(kv));
          break;
        }
        case 'h': push(memo_get(le(1))); break;   // BINGET
        case 'j': push(memo_get(le(4))); break;   // LONG_BINGET
        case 'q': memo_[le(1)] = top(); break;    // BINPUT
        case 'r': memo_[le(4)] = top(); break;    // LONG_BINPUT
        case 0x94: memo_[memo_.size()] = top(); break;  // MEMOIZE
        case 'c': {                                // GLOBAL "module\nname\n"
          std::string mod = line(), name = line();
          push(global(mod + "." + name));
          break;
        }
        case 0x93: {                               // STACK_GLOBAL
          PickleValuePtr name = pop(), mod = pop();
          if (mod->kind != Kind::String || name->kind != Kind::String) fail("STACK_GLOBAL needs two strings");
          push(global(mod->s + "." + name->s));
          break;
        }
        case 'R': {                                // REDUCE
          PickleValuePtr args = pop(), fn = pop();
          push(reduce(fn, args));
          break;
        }
        case 0x81: {                               // NEWOBJ cls(*args)
          PickleValuePtr args = pop(), cls = pop();
          push(reduce(cls, args));
          break;
        }
        case 'b': build(pop()); break;             // BUILD
        case 'Q': push(persistent(pop())); break;  // BINPERSID
        default:
          fail(str_cat("unsupported pickle opcode 0x", hex(op)));
      }
    }
  }

  // Every container made that is still alive: the roots from which the caller cuts reference
  // cycles (a list appended to itself and popped, or anything an error left half built, would
  // otherwise never be freed).
  std::vector<PickleValuePtr> live_containers() const {
    std::vector<PickleValuePtr> out;
    for (const auto& weak : containers_)
      if (PickleValuePtr v = weak.lock()) out.push_back(std::move(v));
    return out;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(str_cat(src_, ": ", what, " (at byte ", op_at_, " of the pickle)"));
  }
  static std::string hex(uint8_t v) {
    const char* d = "0123456789abcdef";
    return std::string{d[v >> 4], d[v & 15]};
  }

  // ---- input ----
  const char* take(uint64_t n) {
    if (n > in_.size() - pos_) fail("pickle data is truncated");
    const char* p = in_.data() + pos_;
    pos_ += n;
    return p;
  }
  uint8_t u8() { return static_cast<uint8_t>(*take(1)); }
  uint64_t le(int n) {
    const char* p = take(static_cast<uint64_t>(n));
    uint64_t v = 0;
    for (int k = n - 1; k >= 0; --k) v = (v << 8) | static_cast<uint8_t>(p[k]);
    return v;
  }
  int64_t long_int(uint64_t n) {  // little-endian two's complement of n bytes
    if (n > 8) fail(str_cat("integer of ", n, " bytes is too large"));
    if (n == 0) return 0;
    const char* p = take(n);
    uint64_t v = 0;
    for (int k = static_cast<int>(n) - 1; k >= 0; --k) v = (v << 8) | static_cast<uint8_t>(p[k]);
    if (n < 8 && (static_cast<uint8_t>(p[n - 1]) & 0x80)) v |= ~uint64_t{0} << (8 * n);
    return static_cast<int64_t>(v);
  }
  std::string line() {
    size_t nl = in_.find('\n', pos_);
    if (nl == std::string::npos) fail("pickle data is truncated (GLOBAL without newline)");
    std::string s = in_.substr(pos_, nl - pos_);
    pos_ = nl + 1;
    return s;
  }

  // ---- stack ----
  // Containers are remembered (weakly) so that reference cycles among them can be cut once
  // decoding ends, including in values the pickle popped or that an error left behind.
  PickleValuePtr make(Kind k) {
    auto v = std::make_shared<PickleValue>();
    v->kind = k;
    if (k == Kind::Tuple || k == Kind::List || k == Kind::Dict || k == Kind::Object) containers_.push_back(v);
    return v;
  }
  void push(PickleValuePtr v) { stack_.push_back(std::move(v)); }
  void push_bool(bool b) {
    PickleValuePtr v = make(Kind::Bool);
    v->b = b;
    push(v);
  }
  void push_int(int64_t i) {
    PickleValuePtr v = make(Kind::Int);
    v->i = i;
    push(v);
  }
  void push_float() {
    uint64_t bits = 0;
    const char* p = take(8);
    for (int k = 0; k < 8; ++k) bits = (bits << 8) | static_cast<uint8_t>(p[k]);  // big-endian
    PickleValuePtr v = make(Kind::Float);
    std::memcpy(&v->f, &bits, 8);
    push(v);
  }
  void push_str(Kind k, uint64_t n) {
    const char* p = take(n);
    PickleValuePtr v = make(k);
    v->s.assign(p, n);
    push(v);
  }
  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  PickleValuePtr top() {
    if (stack_.size() <= floor()) fail("pickle stack underflow");
    return stack_.back();
  }
  PickleValuePtr pop() {
    PickleValuePtr v = top();
    stack_.pop_back();
    return v;
  }
  std::vector<PickleValuePtr> pop_n(size_t n) {
    if (stack_.size() < floor() + n) fail("pickle stack underflow");
    std::vector<PickleValuePtr> out(stack_.end() - static_cast<std::ptrdiff_t>(n), stack_.end());
    stack_.resize(stack_.size() - n);
    return out;
  }
  std::vector<PickleValuePtr> pop_mark() {
    if (marks_.empty()) fail("pickle MARK missing");
    size_t m = marks_.back();
    marks_.pop_back();
    std::vector<PickleValuePtr> out(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
    stack_.resize(m);
    return out;
  }
  PickleValuePtr expect(PickleValuePtr v, Kind k) {
    if (v->kind != k) fail(str_cat("expected a ", k == Kind::Dict ? "dict" : "list", ", found a ", v->kind_name()));
    return v;
  }
  PickleValuePtr seq(Kind k, std::vector<PickleValuePtr> items) {
    PickleValuePtr v = make(k);
    v->items = std::move(items);
    return v;
  }
  void append(std::vector<PickleValuePtr> items) {
    PickleValuePtr list = expect(top(), Kind::List);
    for (auto& it : items) list->items.push_back(std::move(it));
  }
  void set_items(const PickleValuePtr& d, std::vector<PickleValuePtr> kv) {
    if (kv.size() % 2) fail("odd number of dict items");
    // String keys replace like a dict's; the per-dict index keeps that linear in the item count
    // (a scan per insert was quadratic: 10^5 keys took minutes). It holds `d`, so its address is
    // never reused for another dict while we run.
    auto& [owner, index] = dict_index_[d.get()];
    if (!owner) {
      owner = d;
      for (size_t k = 0; k < d->dict.size(); ++k)
        if (d->dict[k].first->kind == Kind::String) index.emplace(d->dict[k].first->s, k);
    }
    for (size_t k = 0; k < kv.size(); k += 2) {
      if (kv[k]->kind == Kind::String) {
        auto [it, fresh] = index.emplace(kv[k]->s, d->dict.size());
        if (!fresh) {
          d->dict[it->second].second = kv[k + 1];
          continue;
        }
      }
      d->dict.emplace_back(kv[k], kv[k + 1]);
    }
  }
  PickleValuePtr memo_get(uint64_t idx) {
    auto it = memo_.find(idx);
    if (it == memo_.end()) fail(str_cat("pickle memo entry ", idx, " is missing"));
    return it->second;
  }

  // ---- the allow-listed globals ----
  bool record_class(const std::string& name) const {
    for (const auto& c : extra_.record_classes)
      if (c == name) return true;
    return false;
  }
  bool extra_value(const std::string& name) const {
    for (const auto& p : extra_.value_prefixes)
      if (name.compare(0, p.size(), p) == 0) return true;
    return record_class(name);
  }

  PickleValuePtr global(const std::string& name) {
    if (!allowed_global(name) && !extra_value(name))
      fail(str_cat("pickle global '", name, "' refused (only torch tensors and OrderedDict are allowed)"));
    PickleValuePtr v = make(Kind::Global);
    v->s = name;
    return v;
  }

  static bool is_int(const PickleValuePtr& v) { return v->kind == Kind::Int || v->kind == Kind::Bool; }
  std::vector<int64_t> int_tuple(const PickleValuePtr& v, const char* what) {
    if (v->kind != Kind::Tuple && v->kind != Kind::List) fail(str_cat("tensor ", what, " is not a tuple"));
    std::vector<int64_t> out;
    for (const auto& it : v->items) {
      if (it->kind != Kind::Int) fail(str_cat("tensor ", what, " holds a ", it->kind_name()));
      out.push_back(it->i);
    }
    return out;
  }

  PickleValuePtr reduce(const PickleValuePtr& fn, const PickleValuePtr& args) {
    if (fn->kind != Kind::Global) fail(str_cat("REDUCE on a ", fn->kind_name(), " (only allowed globals may be called)"));
    if (args->kind != Kind::Tuple) fail("REDUCE arguments are not a tuple");
    const auto& a = args->items;
    if (fn->s == "collections.OrderedDict") {
      PickleValuePtr d = make(Kind::Dict);
      if (a.size() == 1 && a[0]->kind == Kind::List)
        for (const auto& pair : a[0]->items) {
          if (pair->kind != Kind::Tuple || pair->items.size() != 2) fail("OrderedDict item is not a pair");
          set_items(d, {pair->items[0], pair->items[1]});
        }
      else if (!a.empty())
        fail("OrderedDict called with unexpected arguments");
      return d;
    }
    if (fn->s == "torch._utils._rebuild_tensor_v2") {
      if (a.size() != 6 && a.size() != 7) fail(str_cat("_rebuild_tensor_v2 takes 6 or 7 arguments, got ", a.size()));
      if (a[0]->kind != Kind::Storage) fail("_rebuild_tensor_v2: first argument is not a storage");
      if (a[1]->kind != Kind::Int || !is_int(a[4])) fail("_rebuild_tensor_v2: bad offset or requires_grad");
      PickleValuePtr t = make(Kind::Tensor);
      t->tensor.storage = a[0]->storage;
      t->tensor.offset = a[1]->i;
      t->tensor.size = int_tuple(a[2], "size");
      t->tensor.stride = int_tuple(a[3], "stride");
      t->tensor.requires_grad = a[4]->kind == Kind::Bool ? a[4]->b : a[4]->i != 0;
      if (t->tensor.size.size() != t->tensor.stride.size()) fail("_rebuild_tensor_v2: size and stride differ in rank");
      return t;
    }
    if (fn->s == "torch._utils._rebuild_parameter" || fn->s == "torch._utils._rebuild_parameter_with_state") {
      if (a.size() < 3 || a[0]->kind != Kind::Tensor) fail(str_cat(fn->s, ": first argument is not a tensor"));
      PickleValuePtr t = make(Kind::Tensor);
      t->tensor = a[0]->tensor;
      t->tensor.requires_grad = a[1]->kind == Kind::Bool ? a[1]->b : (a[1]->kind == Kind::Int && a[1]->i != 0);
      return t;
    }
    if (record_class(fn->s)) {  // an inert record: never constructed
      PickleValuePtr o = make(Kind::Object);
      o->s = fn->s;
      o->items = a;
      return o;
    }
    fail(str_cat("'", fn->s, "' cannot be called (storage types are only valid in persistent ids)"));
  }

  void build(const PickleValuePtr& state) {
    PickleValuePtr obj = top();
    // OrderedDict state is the instance __dict__ (state_dict()'s _metadata): not needed.
    if (obj->kind == Kind::Dict || obj->kind == Kind::Tensor) return;
    if (obj->kind == Kind::Object) {
      if (state->kind != Kind::Dict) fail(str_cat("BUILD of a '", obj->s, "' with a ", state->kind_name(), " state"));
      obj->dict = state->dict;
      return;
    }
    fail(str_cat("BUILD on a ", obj->kind_name(), " is not supported"));
  }

  PickleValuePtr persistent(const PickleValuePtr& pid) {
    const auto& t = pid->items;
    if (pid->kind != Kind::Tuple || t.size() != 5 || t[0]->kind != Kind::String || t[0]->s != "storage")
      fail("persistent id is not a ('storage', type, key, location, numel) tuple");
    auto st = std::make_shared<PickledStorage>();
    if (t[1]->kind != Kind::Global || !storage_dtype(t[1]->s, st->dtype))
      fail(str_cat("persistent id names an unsupported storage type (", t[1]->kind == Kind::Global ? t[1]->s : t[1]->kind_name(), ")"));
    if (t[2]->kind != Kind::String || t[2]->s.empty()) fail("storage key is not a string");
    for (char c : t[2]->s)  // keys become zip member names: keep them plain
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'))
        fail(str_cat("storage key '", t[2]->s, "' has unexpected characters"));
    if (t[3]->kind != Kind::String) fail("storage location is not a string");
    if (t[4]->kind != Kind::Int || t[4]->i < 0) fail("storage size is not a non-negative int");
    st->key = t[2]->s;
    st->location = t[3]->s;
    st->numel = t[4]->i;
    PickleValuePtr v = make(Kind::Storage);
    v->storage = std::move(st);
    return v;
  }

  PickleValuePtr finish() {
    if (stack_.size() != 1 || !marks_.empty()) fail("pickle ends with a malformed stack");
    return stack_.back();
  }

  const std::string& in_;
  const std::string& src_;
  const UnpickleOptions& extra_;
  size_t pos_ = 0, op_at_ = 0;
  std::vector<PickleValuePtr> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, PickleValuePtr> memo_;
  std::unordered_map<const PickleValue*, std::pair<PickleValuePtr, std::unordered_map<std::string, size_t>>>
      dict_index_;
  std::vector<std::weak_ptr<PickleValue>> containers_;
};

// Iterative depth-first walk; an edge to a value still on the walk's path closes a cycle and is
// replaced by None (shared_ptr cycles would never be freed).
void cut_cycles(const std::vector<PickleValuePtr>& roots) {
  enum class State : uint8_t { OnPath, Done };
  std::unordered_map<const PickleValue*, State> seen;
  struct Frame {
    PickleValue* v;
    size_t next;
  };
  auto child = [](PickleValue& v, size_t k) -> PickleValuePtr& {
    if (k < v.items.size()) return v.items[k];
    k -= v.items.size();
    return k % 2 == 0 ? v.dict[k / 2].first : v.dict[k / 2].second;
  };
  // One walk over all roots: a value finished from an earlier root is not walked again.
  for (const PickleValuePtr& root : roots) {
    if (!root || seen.count(root.get())) continue;
    std::vector<Frame> path{{root.get(), 0}};
    seen[root.get()] = State::OnPath;
    while (!path.empty()) {
      Frame& f = path.back();
      if (f.next == f.v->items.size() + 2 * f.v->dict.size()) {
        seen[f.v] = State::Done;
        path.pop_back();
        continue;
      }
      PickleValuePtr& c = child(*f.v, f.next++);
      auto it = seen.find(c.get());
      if (it == seen.end()) {
        seen[c.get()] = State::OnPath;
        path.push_back({c.get(), 0});
      } else if (it->second == State::OnPath) {
        c = std::make_shared<PickleValue>();  // Kind::None
      }
    }
  }
}

}  // namespace

PickleValuePtr unpickle(const std::string& bytes, const std::string& source) {
  return unpickle(bytes, source, UnpickleOptions{});
}

PickleValuePtr unpickle(const std::string& bytes, const std::string& source, const UnpickleOptions& extra) {
  Unpickler unpickler(bytes, source, extra);
  PickleValuePtr root;
  try {
    root = unpickler.run();
  } catch (...) {
    cut_cycles(unpickler.live_containers());
    throw;
  }
  std::vector<PickleValuePtr> roots = unpickler.live_containers();
  roots.insert(roots.begin(), root);
  cut_cycles(roots);
  return root;
}

}  // namespace asr::io
