// Object emission with the time each function took in code generation. LLVM's C API emits
// through the legacy pass manager with no hook per function; this does the same
// (`addPassesToEmitFile`, so the bytes are the same) with a pass of ours at the end.

#include "llvm-c/Core.h"
#include "llvm-c/TargetMachine.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/Pass.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"

#include <chrono>
#include <string>

using namespace llvm;

// Called with each function's name and seconds as soon as it is done (`ctx` is the caller's).
typedef void (*WaotFunctionTime)(void *ctx, const char *name, size_t len, double seconds);
// Receives the object's bytes.
typedef void (*WaotBytes)(void *ctx, const char *data, size_t len);

namespace {

// Runs after the last code generation pass of each function: the legacy pass manager takes
// one function through every function pass before the next, so the time since the previous
// function finished is this one's. (The first function's includes the module-level passes
// that run before any function.)
struct FunctionClock : public FunctionPass {
  static char ID;
  WaotFunctionTime Report;
  void *Ctx;
  std::chrono::steady_clock::time_point Last;

  FunctionClock(WaotFunctionTime Report, void *Ctx)
      : FunctionPass(ID), Report(Report), Ctx(Ctx), Last(std::chrono::steady_clock::now()) {}

  StringRef getPassName() const override { return "waot function clock"; }

  void getAnalysisUsage(AnalysisUsage &AU) const override { AU.setPreservesAll(); }

  bool runOnFunction(Function &F) override {
    auto Now = std::chrono::steady_clock::now();
    if (!F.isDeclaration()) {
      StringRef Name = F.getName();
      Report(Ctx, Name.data(), Name.size(), std::chrono::duration<double>(Now - Last).count());
    }
    Last = Now;
    return false;
  }
};

char FunctionClock::ID = 0;

} // namespace

// Emits `module` as an object file for `machine`, handing the bytes to `sink` and each
// function's code generation time to `report`. Returns null, or an error message to free with
// `LLVMDisposeMessage`.
extern "C" char *waot_emit_object(LLVMModuleRef module, LLVMTargetMachineRef machine,
                                  WaotBytes sink, WaotFunctionTime report, void *ctx) {
  Module &M = *unwrap(module);
  TargetMachine *TM = reinterpret_cast<TargetMachine *>(machine);
  SmallVector<char, 0> Buffer;
  raw_svector_ostream OS(Buffer);
  legacy::PassManager PM;
  M.setDataLayout(TM->createDataLayout());
  if (TM->addPassesToEmitFile(PM, OS, nullptr, CodeGenFileType::ObjectFile))
    return LLVMCreateMessage("the target cannot emit object files");
  PM.add(new FunctionClock(report, ctx));
  PM.run(M);
  sink(ctx, Buffer.data(), Buffer.size());
  return nullptr;
}
