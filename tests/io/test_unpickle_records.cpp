// The unpickler's opt-in records (UnpickleOptions) that NeMo's save_adapters '__cfg__' needs, and
// the cycle cut that keeps such object graphs from leaking.
#include <gtest/gtest.h>

#include "asr/io/unpickler.h"
#include "support/test_util.h"

namespace asr {
namespace {

using Kind = io::PickleValue::Kind;
using namespace std::string_literals;  // the pickles hold NUL bytes

// AnyNode() with BUILD state {'_val': 5}, as OmegaConf pickles a value node.
const std::string kAnyNode = "\x80\x02"s + "comegaconf.nodes\nAnyNode\n" + ")\x81" + "}(X\x04\x00\x00\x00_valK\x05ub."s;

TEST(UnpickleRecords, ClassesOutsideTheAllowListAreStillRefusedByDefault) {
  EXPECT_ASR_ERROR(io::unpickle(kAnyNode, "cfg.pkl"), "pickle global 'omegaconf.nodes.AnyNode' refused");
}

TEST(UnpickleRecords, AnAllowedRecordClassKeepsItsBuildStateAndIsNeverCalled) {
  io::UnpickleOptions o;
  o.record_classes = {"omegaconf.nodes.AnyNode"};
  const io::PickleValuePtr v = io::unpickle(kAnyNode, "cfg.pkl", o);
  ASSERT_EQ(v->kind, Kind::Object);
  EXPECT_EQ(v->s, "omegaconf.nodes.AnyNode");
  ASSERT_EQ(v->dict.size(), 1u);
  EXPECT_EQ(v->dict[0].first->s, "_val");
  EXPECT_EQ(v->dict[0].second->i, 5);
}

TEST(UnpickleRecords, AValueGlobalMayNotBeCalled) {
  io::UnpickleOptions o;
  o.value_prefixes = {"typing."};
  const std::string as_value = std::string("\x80\x02") + "ctyping\nAny\n.";
  EXPECT_EQ(io::unpickle(as_value, "v.pkl", o)->kind, Kind::Global);
  const std::string called = std::string("\x80\x02") + "ctyping\nAny\n)R.";
  EXPECT_ASR_ERROR(io::unpickle(called, "v.pkl", o), "'typing.Any' cannot be called");
}

TEST(UnpickleRecords, AReferenceCycleIsCutToNone) {
  // l = []; l.append(l)
  const std::string self_list = "\x80\x02"s + "]q\x00h\x00"s + "a.";
  const io::PickleValuePtr v = io::unpickle(self_list, "cycle.pkl");
  ASSERT_EQ(v->kind, Kind::List);
  ASSERT_EQ(v->items.size(), 1u);
  EXPECT_EQ(v->items[0]->kind, Kind::None);
  EXPECT_EQ(v.use_count(), 1);  // nothing else holds the root: it is freed
}

TEST(UnpickleRecords, SharedButAcyclicValuesAreKept) {
  // x = [1]; [x, x]
  const std::string shared = "\x80\x02"s + "](]q\x00K\x01"s + "ah\x00"s + "e.";
  const io::PickleValuePtr v = io::unpickle(shared, "dag.pkl");
  ASSERT_EQ(v->items.size(), 2u);
  EXPECT_EQ(v->items[0]->kind, Kind::List);
  EXPECT_EQ(v->items[0], v->items[1]);
}

}  // namespace
}  // namespace asr
