import ControlContract
import Testing
@testable import ControlAPI

/// The server answers exactly the operations of the contract's table, the one `gwlb` takes its
/// verbs and flags from: an operation only one side knows is a verb that always fails, or an
/// action no client can name.
@Suite struct OperationTableTests {
    @Test func everyElbv2OperationOfTheTableHasAHandlerAndNoOtherDoes() {
        #expect(Set(ELBActions.handlers.keys) == Set(ELBOperation.all.map(\.action)))
    }

    @Test func everyEC2OperationOfTheTableHasAHandlerAndNoOtherDoes() {
        #expect(Set(EC2Actions.handlers.keys) == Set(ELBOperation.ec2.map(\.action)))
    }

    /// Through the front door: each action of the table gets past the dispatch (an answer other than
    /// InvalidAction, whatever its parameters' errors), and one outside it does not.
    @Test func theDispatchFollowsTheTable() async throws {
        let api = try APIFixture()
        for operation in ELBOperation.all {
            let answer = await api.actions.handle("Action=\(operation.action)&Version=2015-12-01")
            #expect(!answer.body.contains("InvalidAction"), "\(operation.action): \(answer.body)")
        }
        for operation in ELBOperation.ec2 {
            let answer = await api.actions.handle("Action=\(operation.action)&Version=2016-11-15")
            #expect(!answer.body.contains("InvalidAction"), "\(operation.action): \(answer.body)")
        }
        #expect(await api.actions.handle("Action=CreateRule&Version=2015-12-01").body.contains("InvalidAction"))
        #expect(await api.actions.handle("Action=CreateVpc&Version=2016-11-15").body.contains("InvalidAction"))
    }
}
