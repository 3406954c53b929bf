import AWSCommandLine
import ControlAPI
import ControlClient
import Foundation
import Testing
import TestTraits

/// The EC2 half through clients we did not write (boto3), and through `gwlb ec2` with the aws
/// CLI's shorthand, paging and `--query`.
@Suite(.blocking) struct EC2ClientTests {
    static let interfaces = ["subnet-0app": "app", "igw-0edge": "uplink"]

    /// boto3: every EC2 verb gwlb serves, its paginators over more than a page, and EC2's errors
    /// (ClientError with AWS's codes: EC2's model has no exception classes of its own).
    @Test func boto3Script() async throws {
        try await AWSClientTests.requireTools()
        let api = try await APIServerFixture(interfaces: Self.interfaces)
        let port = try await api.listenOnTCP(credentials: [AWSClientTests.key: AWSClientTests.secret])
        let script = """
            import boto3, botocore, datetime
            url = 'http://127.0.0.1:\(port)'
            ec2 = boto3.client('ec2', endpoint_url=url, region_name='us-east-1')
            elbv2 = boto3.client('elbv2', endpoint_url=url, region_name='us-east-1')
            lb = elbv2.create_load_balancer(Name='lb', Type='gateway', Subnets=['subnet-1'])['LoadBalancers'][0]['LoadBalancerArn']
            svc = ec2.create_vpc_endpoint_service_configuration(GatewayLoadBalancerArns=[lb], AcceptanceRequired=True,
                TagSpecifications=[{'ResourceType': 'vpc-endpoint-service', 'Tags': [{'Key': 'team', 'Value': 'net'}]}])['ServiceConfiguration']
            assert svc['AcceptanceRequired'] is True and svc['ServiceType'] == [{'ServiceType': 'GatewayLoadBalancer'}], svc
            assert svc['GatewayLoadBalancerArns'] == [lb] and svc['Tags'] == [{'Key': 'team', 'Value': 'net'}], svc
            endpoints = [ec2.create_vpc_endpoint(VpcEndpointType='GatewayLoadBalancer', ServiceName=svc['ServiceName'], VpcId='vpc-1',
                                                 SubnetIds=['subnet-e%d' % i])['VpcEndpoint'] for i in range(7)]
            assert all(e['State'] == 'PendingAcceptance' for e in endpoints), endpoints
            assert isinstance(endpoints[0]['CreationTimestamp'], datetime.datetime)
            pages = list(ec2.get_paginator('describe_vpc_endpoints').paginate(PaginationConfig={'PageSize': 5}))
            assert [len(p['VpcEndpoints']) for p in pages] == [5, 2], pages
            first = endpoints[0]['VpcEndpointId']
            accepted = ec2.accept_vpc_endpoint_connections(ServiceId=svc['ServiceId'], VpcEndpointIds=[first, 'vpce-0nope'])
            assert [u['ResourceId'] for u in accepted['Unsuccessful']] == ['vpce-0nope'], accepted
            assert ec2.describe_vpc_endpoints(VpcEndpointIds=[first])['VpcEndpoints'][0]['State'] == 'Available'
            waiting = ec2.describe_vpc_endpoints(Filters=[{'Name': 'vpc-endpoint-state', 'Values': ['pendingacceptance']}])['VpcEndpoints']
            assert len(waiting) == 6, waiting
            tables = [ec2.create_route_table(VpcId='vpc-1')['RouteTable']['RouteTableId'] for i in range(12)]
            pages = list(ec2.get_paginator('describe_route_tables').paginate(PaginationConfig={'PageSize': 5}))
            assert [len(p['RouteTables']) for p in pages] == [5, 5, 2], [len(p['RouteTables']) for p in pages]
            ec2.create_route(RouteTableId=tables[0], DestinationCidrBlock='198.18.20.0/24', VpcEndpointId=first)
            ec2.create_route(RouteTableId=tables[0], DestinationIpv6CidrBlock='fd00:20::/64', VpcEndpointId=endpoints[1]['VpcEndpointId'])
            association = ec2.associate_route_table(RouteTableId=tables[0], SubnetId='subnet-0app')
            assert association['AssociationState']['State'] == 'associated', association
            routes = ec2.describe_route_tables(RouteTableIds=[tables[0]])['RouteTables'][0]['Routes']
            assert [(r.get('DestinationCidrBlock') or r['DestinationIpv6CidrBlock'], r['GatewayId'], r['State']) for r in routes] == [
                ('198.18.20.0/24', first, 'active'), ('fd00:20::/64', endpoints[1]['VpcEndpointId'], 'blackhole')], routes
            found = ec2.describe_route_tables(Filters=[{'Name': 'association.subnet-id', 'Values': ['subnet-0app']}])['RouteTables']
            assert [t['RouteTableId'] for t in found] == [tables[0]], found
            errors = []
            for call in [
                lambda: ec2.create_route(RouteTableId=tables[0], DestinationCidrBlock='198.18.20.0/24', VpcEndpointId=first),
                lambda: ec2.describe_route_tables(RouteTableIds=['rtb-0nope']),
                lambda: ec2.describe_vpc_endpoints(VpcEndpointIds=['vpce-0nope']),
                lambda: ec2.delete_route_table(RouteTableId=tables[0]),
                lambda: ec2.associate_route_table(RouteTableId=tables[1], SubnetId='subnet-0app'),
                lambda: ec2.associate_route_table(RouteTableId=tables[1], SubnetId='subnet-0unknown'),
                lambda: ec2.replace_route(RouteTableId=tables[0], DestinationCidrBlock='198.18.99.0/24', VpcEndpointId=first),
                lambda: ec2.create_route(RouteTableId=tables[1], DestinationCidrBlock='198.18.20.1/24', VpcEndpointId=first),
                lambda: ec2.create_vpc_endpoint(VpcEndpointType='GatewayLoadBalancer', ServiceName='com.amazonaws.vpce.us-east-1.vpce-svc-0nope', VpcId='vpc-1', SubnetIds=['subnet-1']),
                lambda: ec2.delete_vpc_endpoint_service_configurations(ServiceIds=[svc['ServiceId']])['Unsuccessful'][0]['Error'],
                lambda: ec2.create_route_table(VpcId='vpc-1', DryRun=True),
            ]:
                try:
                    result = call()
                    errors.append(result['Code'] if isinstance(result, dict) and 'Code' in result else 'no error')
                except ec2.exceptions.ClientError as error:  # botocore.exceptions.ClientError, as the client names it
                    assert isinstance(error, botocore.exceptions.ClientError)
                    errors.append(error.response['Error']['Code'])
                    if error.response['Error']['Code'] == 'DryRunOperation':
                        assert error.response['ResponseMetadata']['HTTPStatusCode'] == 412
            print(' '.join(errors))
            ec2.delete_route(RouteTableId=tables[0], DestinationIpv6CidrBlock='fd00:20::/64')
            ec2.disassociate_route_table(AssociationId=association['AssociationId'])
            ec2.delete_route_table(RouteTableId=tables[0])
            assert ec2.delete_vpc_endpoints(VpcEndpointIds=[e['VpcEndpointId'] for e in endpoints])['Unsuccessful'] == []
            assert ec2.delete_vpc_endpoint_service_configurations(ServiceIds=[svc['ServiceId']])['Unsuccessful'] == []
            """
        let result = await AWSClientTests.run(["python3", "-c", script])
        #expect(result.status == 0, "\(result.errors)")
        let codes = result.output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ").map(String.init)
        #expect(codes == ["RouteAlreadyExists", "InvalidRouteTableID.NotFound", "InvalidVpcEndpointId.NotFound", "DependencyViolation",
                          "Resource.AlreadyAssociated", "InvalidSubnetID.NotFound", "InvalidRoute.NotFound", "InvalidParameterValue",
                          "InvalidServiceName", "ExistingVpcEndpointConnections", "DryRunOperation"], "\(result.output)")
        // What boto3 did is what gwlbd holds: 11 tables (the dry run made none), no endpoint, no service.
        let held = api.service.read { ($0.routeTables.count, $0.endpoints.count, $0.endpointServices.count) }
        #expect(held == (11, 0, 0))
    }

    /// `gwlb ec2 VERB` in-process: shorthand structures (lists in `Values=a,b`, nested `Tags=[{…}]`),
    /// paging merged as the aws CLI merges it, `--query`, and the aws CLI's exit codes.
    @Test func gwlbEC2Verbs() async throws {
        let api = try await APIServerFixture(interfaces: Self.interfaces)
        func ec2(_ verb: String, _ arguments: [String]) async -> (code: Int32, output: String) {
            let arguments = arguments + ["--socket", api.socketPath]
            return await offPool {
                var output = ""
                let code = ELBCommandLine.run(verb, arguments, ec2: true) { output += $0 }
                return (code, output)
            }
        }
        for number in 0..<7 {
            let made = await ec2("create-route-table", ["--vpc-id", "vpc-1", "--tag-specifications",
                                                        "ResourceType=route-table,Tags=[{Key=name,Value=t\(number)},{Key=team,Value=net}]"])
            #expect(made.code == 0, "\(made.output)")
        }
        let names = await ec2("describe-route-tables", ["--max-results", "5", "--query", "RouteTables[].Tags[?Key=='name'].Value[]", "--output", "text"])
        #expect(names.output.split(whereSeparator: \.isWhitespace) == (0..<7).map { "t\($0)"[...] }, "\(names.output)")
        let one = await ec2("describe-route-tables", ["--max-results", "5", "--no-paginate", "--query", "length(RouteTables)"])
        #expect(one.output.trimmingCharacters(in: .whitespacesAndNewlines) == "5")
        let first = api.service.read { $0.routeTables[0].id }
        #expect(await ec2("associate-route-table", ["--route-table-id", first, "--gateway-id", "igw-0edge"]).code == 0)
        let filtered = await ec2("describe-route-tables", ["--filters", "Name=association.gateway-id,Values=igw-0nope,igw-0edge",
                                                          "Name=tag:team,Values=net", "--query", "RouteTables[].RouteTableId", "--output", "text"])
        #expect(filtered.output.trimmingCharacters(in: .whitespacesAndNewlines) == first, "\(filtered.output)")
        let missing = await ec2("create-route", ["--route-table-id", first, "--destination-cidr-block", "198.18.0.0/15", "--vpc-endpoint-id", "vpce-0nope"])
        #expect(missing.code == ELBCommandLine.ExitCode.serviceError)
        #expect(await ec2("create-route-table", []).code == ELBCommandLine.ExitCode.usage, "--vpc-id is required, as in the aws CLI")
        let local = await ec2("create-route", ["--route-table-id", first, "--destination-ipv6-cidr-block", "fd00:20::/64", "--gateway-id", "local"])
        #expect(local.code == 0, "\(local.output)")
        let route = await ec2("describe-route-tables", ["--route-table-ids", first, "--query", "RouteTables[0].Routes[0].[DestinationIpv6CidrBlock,GatewayId,State]",
                                                       "--output", "text"])
        #expect(route.output == "fd00:20::/64\tlocal\tactive\n", "\(route.output)")
    }
}
