/**
 * The vendor module behind /dev/kvm: it trims kvm_caps (supported XCR0, the CPUID.(0DH,1).EAX
 * bits KVM offers). kvm_pvm is the out-of-tree PVM module this project's Intel host runs.
 * Its own module (re-exported by kvm.ts) so that the command line can name the modules in its
 * help without loading the KVM model.
 */
export enum KvmVendorModule {
  KvmIntel = 'kvm_intel',
  KvmAmd = 'kvm_amd',
  KvmPvm = 'kvm_pvm',
}
