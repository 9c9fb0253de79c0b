"""Sets up a Cognito user pool in a running moto server and prints, as JSON,
real tokens it issued plus an expired one signed with the same pool key.

usage: moto_cognito.py ENDPOINT
"""
import base64
import json
import sys
import time

import boto3
from joserfc import jwk, jwt
from moto.utilities.utils import load_resource

endpoint = sys.argv[1]
idp = boto3.client(
    "cognito-idp",
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id="test",
    aws_secret_access_key="test",
)
pool = idp.create_user_pool(PoolName="perfmon-chat")["UserPool"]["Id"]
client = idp.create_user_pool_client(
    UserPoolId=pool,
    ClientName="perfmon-web",
    ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
)["UserPoolClient"]["ClientId"]
idp.admin_create_user(
    UserPoolId=pool,
    Username="alice_w",
    UserAttributes=[{"Name": "email", "Value": "alice@example.com"}],
    TemporaryPassword="Temp-pass-1!",
    MessageAction="SUPPRESS",
)
idp.admin_set_user_password(
    UserPoolId=pool, Username="alice_w", Password="Real-pass-1!", Permanent=True
)
result = idp.admin_initiate_auth(
    UserPoolId=pool,
    ClientId=client,
    AuthFlow="ADMIN_USER_PASSWORD_AUTH",
    AuthParameters={"USERNAME": "alice_w", "PASSWORD": "Real-pass-1!"},
)["AuthenticationResult"]


def claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


# The pool's own key (moto serves its public half as the JWKS): an id token
# exactly like the real one, but expired an hour ago.
private = jwk.RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))
expired_claims = claims(result["IdToken"])
expired_claims["iat"] = expired_claims["auth_time"] = int(time.time()) - 7200
expired_claims["exp"] = int(time.time()) - 3600
head = result["IdToken"].split(".")[0]
header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
expired = jwt.encode({"alg": "RS256", "kid": header["kid"], "typ": "JWT"}, expired_claims, private)

id_claims = claims(result["IdToken"])
print(
    json.dumps(
        {
            "pool_id": pool,
            "client_id": client,
            "issuer": id_claims["iss"],
            "jwks_url": f"{endpoint}/{pool}/.well-known/jwks.json",
            "id_token": result["IdToken"],
            "access_token": result["AccessToken"],
            "expired_id_token": expired,
            "sub": id_claims["sub"],
        }
    )
)
